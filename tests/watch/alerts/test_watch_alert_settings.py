"""``watch.alerts`` settings: sinks by reference, routes to declared sinks, inhibit matchers; and the loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alert_helpers import MemoryMetrics, RecordingSink, make_manager

from finpilot.core import ConfigError, FakeClock, Settings, parse_settings
from finpilot.watch import AlertLoop, AlertManager, parse_rules


def _yaml(alerts: str) -> str:
    return "watch:\n  alerts:\n" + "".join(f"    {line}\n" for line in alerts.strip().splitlines())


def test_a_sink_url_is_never_inline() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(_yaml("sinks:\n  - {name: chat, type: slack, url: 'https://hooks.slack.com/services/T/B/X'}"))
    assert caught.value.field == "watch.alerts.sinks.0.url"
    assert "hooks.slack.com" not in str(caught.value)


def test_a_route_must_name_a_declared_sink() -> None:
    text = _yaml(
        "sinks:\n  - {name: hook, type: webhook, url: {env: HOOK}}\n"
        "routes:\n  - {matchers: ['team=pay'], sinks: [pager]}"
    )
    with pytest.raises(ConfigError, match="route names sink 'pager'") as caught:
        parse_settings(text)
    assert caught.value.field == "watch.alerts.routes.0.sinks"


@pytest.mark.parametrize(
    ("alerts", "field"),
    [
        ("inhibit:\n  - {source: ['severity'], target: ['severity=warning']}", "watch.alerts.inhibit.0.source"),
        ("routes:\n  - {matchers: ['a=~('], sinks: []}", "watch.alerts.routes.0.matchers"),
        ("sinks:\n  - {name: c, type: slack, url: {env: U}, secret: {env: K}}", "watch.alerts.sinks.0.secret"),
        ("group_wait_s: -1", "watch.alerts.group_wait_s"),
    ],
)
def test_bad_alert_settings_name_their_field(alerts: str, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(_yaml(alerts))
    assert caught.value.field == field


def test_a_missing_sink_secret_names_the_setting_not_a_value(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "data_dir": str(tmp_path),
            "watch": {"alerts": {"sinks": [{"name": "hook", "type": "webhook", "url": {"env": "NOT_SET_HOOK"}}]}},
        }
    )
    with pytest.raises(ConfigError) as caught:
        AlertManager.from_settings(settings, environ={})
    assert caught.value.field == "watch.alerts.sinks[0].url"
    with pytest.raises(ConfigError, match="not an http") as caught:
        AlertManager.from_settings(settings, environ={"NOT_SET_HOOK": "hooks.example/T0/secret-part"})
    assert "secret-part" not in str(caught.value)
    # Listing and silencing never need the sinks' secrets.
    AlertManager.from_settings(settings, with_sinks=False, environ={}).close()


def test_the_loop_evaluates_on_its_interval_and_ticks_every_step(
    tmp_path: Path, clock: FakeClock, entries: list[Any]
) -> None:
    rules = parse_rules("rules:\n  - alert: Hot\n    query: {selector: temp}\n    threshold: 50\n")
    metrics = MemoryMetrics()
    sink = RecordingSink()
    loop = AlertLoop(make_manager(tmp_path, clock, sink, entries, wait=10), rules, metrics, evaluation_interval_s=30)
    metrics.add("temp", {"room": "a"}, clock().timestamp(), 60)
    loop.step()
    assert [v.alert.state for v in loop.manager.active_alerts()] == ["firing"]
    metrics.add("temp", {"room": "a"}, clock().timestamp() + 5, 20)
    clock.advance(10)
    loop.step()  # no evaluation (30 s interval), but the tick flushes the group
    assert len(sink.got) == 1
    clock.advance(20)
    loop.step()
    assert [v.alert.state for v in loop.manager.active_alerts()] == ["resolved"]
    assert loop.failures == {}
