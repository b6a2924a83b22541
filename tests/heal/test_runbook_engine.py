"""The runbook engine without a runtime: audited steps, escalation, handlers, pages, rate limits, backups."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from backup_helpers import KEY_ENV, new_key
from heal_helpers import entries

from finpilot.audit import Entry, Ledger, open_ledger
from finpilot.core import ConfigError, RunbookSettings, SecretRef, Settings
from finpilot.heal import Pager, Runbook, RunbookEngine, scheduled_backups
from finpilot.heal._runbook._actions import ActionRequest
from finpilot.heal._runbook._spec import parse_runbook

CARD = "4111111111111111"  # a Luhn-valid test number: the ledger refuses it anywhere in an entry


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(Settings(data_dir=tmp_path / "state")) as opened:
        yield opened


def _book(actions: list[dict[str, Any]], **extra: Any) -> Runbook:
    doc = {
        "name": extra.pop("name", "test-book"),
        "trigger": {"kind": "custom.alarm", "when": [{"field": "level", "op": "gt", "value": 1}]},
        "actions": actions,
        **extra,
    }
    return parse_runbook(yaml.safe_dump(doc), source="test-book.yaml")


def _alarm(level: int = 2, **evidence: Any) -> Entry:
    return Entry(
        kind="custom.alarm",
        actor="sensor:t",
        action="raise",
        subject="node:n1",
        outcome="firing",
        evidence={"level": level, **evidence},
    )


def _fire(engine: RunbookEngine, ledger: Ledger, *alarms: Entry, append: bool = True) -> None:
    for alarm in alarms:
        if append:
            ledger.append(alarm)
        engine.offer(alarm)
    assert engine.wait_idle(30)


@pytest.fixture
def started() -> Iterator[list[RunbookEngine]]:
    engines: list[RunbookEngine] = []
    yield engines
    for engine in engines:
        engine.stop()


def _engine(started: list[RunbookEngine], books: list[Runbook], ledger: Ledger, **kw: Any) -> RunbookEngine:
    engine = RunbookEngine(books, ledger, **kw)
    engine.start()
    started.append(engine)
    return engine


def test_a_failing_step_is_audited_escalated_and_stops_the_run(
    ledger: Ledger, started: list[RunbookEngine], tmp_path: Path
) -> None:
    book = _book([{"run": {"argv": ["false"]}}, {"page": {"message": "not reached"}}])
    engine = _engine(started, [book], ledger, log_dir=tmp_path / "logs")
    _fire(engine, ledger, _alarm(level=1), _alarm(level=3))  # level 1 does not match
    trigger = entries(ledger, "runbook.trigger")
    assert len(trigger) == 1
    assert trigger[0]["evidence"]["trigger"]["kind"] == "custom.alarm"
    assert trigger[0]["evidence"]["trigger"]["index"] == entries(ledger).index(
        next(e for e in entries(ledger) if e["kind"] == "custom.alarm" and e["evidence"]["level"] == 3)
    )
    [failed] = entries(ledger, "runbook.action")
    assert (failed["outcome"], failed["action"], failed["actor"]) == ("failed", "run", "runbook:test-book")
    assert "exited with status 1" in failed["evidence"]["error"]["message"]
    [escalation] = entries(ledger, "runbook.escalate")
    assert "step 0 (run) failed" in escalation["evidence"]["message"]
    assert escalation["evidence"]["delivery"] == {"webhook": None, "delivered": False}
    assert entries(ledger, "runbook.page") == []  # the run stopped at the failure


def test_continue_on_failure_runs_the_later_steps(ledger: Ledger, started: list[RunbookEngine]) -> None:
    book = _book(
        [{"run": {"argv": ["false"]}}, {"page": {"message": "level {evidence.level}"}}], continue_on_failure=True
    )
    engine = _engine(started, [book], ledger)
    _fire(engine, ledger, _alarm(level=7))
    [page] = entries(ledger, "runbook.page")
    assert page["evidence"]["message"] == "level 7"
    assert page["outcome"] == "ledger-only"
    assert [a["outcome"] for a in entries(ledger, "runbook.action")] == ["failed", "ok"]


def test_actions_of_other_capabilities_need_a_registered_handler(ledger: Ledger, started: list[RunbookEngine]) -> None:
    book = _book([{"freeze": {"account": "{evidence.account}", "reason": "burst"}}])
    engine = _engine(started, [book], ledger)
    _fire(engine, ledger, _alarm(account="acct-9"))
    [failed] = entries(ledger, "runbook.action")
    assert failed["outcome"] == "failed"
    assert "no handler is registered for the 'freeze' action" in failed["evidence"]["error"]["message"]
    assert len(entries(ledger, "runbook.escalate")) == 1

    seen: list[ActionRequest] = []

    def freeze(request: ActionRequest) -> dict[str, Any]:
        seen.append(request)
        return {"frozen": request.params["account"]}

    engine.register_action("freeze", freeze)
    _fire(engine, ledger, _alarm(account="acct-10"))
    assert [r.params for r in seen] == [{"account": "acct-10", "reason": "burst"}]
    assert seen[0].actor == "runbook:test-book"
    assert seen[0].target == "freeze:acct-10"
    ok = entries(ledger, "runbook.action")[-1]
    assert (ok["outcome"], ok["evidence"]["detail"], ok["evidence"]["target"]) == (
        "ok",
        {"frozen": "acct-10"},
        "freeze:acct-10",
    )
    with pytest.raises(Exception, match="no runbook action is called 'reboot'"):
        engine.register_action("reboot", freeze)


def test_the_rate_limit_stops_a_storm_and_escalates_once(ledger: Ledger, started: list[RunbookEngine]) -> None:
    book = _book([{"run": {"argv": ["true"]}}], rate_limit={"max_actions": 2, "window_s": 3600, "cooldown_s": 3600})
    engine = _engine(started, [book], ledger)
    _fire(engine, ledger, *[_alarm() for _ in range(6)], append=False)
    assert [a["outcome"] for a in entries(ledger, "runbook.action")] == ["ok", "ok"]
    limited = entries(ledger, "runbook.rate_limited")
    assert len(limited) == 4
    assert [e["evidence"]["reason"] for e in limited] == ["runbook-limit", "cooldown", "cooldown", "cooldown"]
    [escalation] = entries(ledger, "runbook.escalate")
    assert "rate limit tripped" in escalation["evidence"]["message"]


def test_the_engines_own_entries_never_trigger_runbooks(ledger: Ledger, started: list[RunbookEngine]) -> None:
    own = parse_runbook(
        yaml.safe_dump({"name": "own", "trigger": {"kind": "custom.alarm"}, "actions": [{"page": {"message": "x"}}]})
    )
    engine = _engine(started, [own], ledger)
    mine = Entry(kind="custom.alarm", actor="runbook:other", action="a", subject="s", outcome="o")
    _fire(engine, ledger, mine, append=False)
    assert entries(ledger) == []


def test_a_bad_reload_keeps_what_was_loaded(ledger: Ledger, started: list[RunbookEngine], tmp_path: Path) -> None:
    good = _book([{"page": {"message": "still here"}}])
    engine = _engine(started, [good], ledger)
    bad = tmp_path / "books"
    bad.mkdir()
    (bad / "a.yaml").write_text(
        yaml.safe_dump({"name": "fine", "trigger": {"kind": "custom.x.y"}, "actions": [{"page": {"message": "m"}}]})
    )
    (bad / "b.yaml").write_text("name: broken\ntrigger: {kind: custom.x.y}\nactions:\n  - restart: ''\n")
    with pytest.raises(ConfigError) as caught:
        engine.reload(bad)
    assert caught.value.path == str(bad / "b.yaml")
    assert caught.value.field == "actions.0.restart"
    assert [b.name for b in engine.runbooks] == ["test-book"]
    _fire(engine, ledger, _alarm())
    assert entries(ledger, "runbook.page")[0]["evidence"]["message"] == "still here"


def test_digit_runs_from_a_trigger_never_block_the_runbooks_own_record(
    ledger: Ledger, started: list[RunbookEngine]
) -> None:
    engine = _engine(started, [_book([{"page": {"message": "card {evidence.card}"}}])], ledger)
    _fire(engine, ledger, _alarm(card=CARD), append=False)
    [page] = entries(ledger, "runbook.page")
    assert page["evidence"]["message"] == "card [digits]"
    assert CARD not in json.dumps(entries(ledger))


class _Receiver:
    """A webhook receiver on 127.0.0.1 that checks each signature."""

    def __init__(self, secret: bytes, status: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.signatures_ok: list[bool] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
                receiver.signatures_ok.append(hmac.compare_digest(want, self.headers["X-Finpilot-Signature"]))
                receiver.bodies.append(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


@pytest.mark.parametrize("status", [200, 503])
def test_pages_are_signed_and_the_url_path_stays_out_of_the_ledger(
    ledger: Ledger, started: list[RunbookEngine], status: int
) -> None:
    receiver = _Receiver(b"s3cret", status=status)
    try:
        settings = RunbookSettings(webhook_url=receiver.url("/hook/path-credential"), secret=SecretRef(env="RB_SECRET"))
        with pytest.raises(ConfigError, match="RB_SECRET"):
            Pager.from_settings(settings, environ={})
        pager = Pager.from_settings(settings, environ={"RB_SECRET": "s3cret"})
        engine = _engine(
            started, [_book([{"page": {"message": "disk on {node}", "severity": "critical"}}])], ledger, pager=pager
        )
        _fire(engine, ledger, _alarm())
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
    assert all(receiver.signatures_ok)
    assert receiver.signatures_ok
    assert receiver.bodies[0]["message"] == "disk on n1"
    assert receiver.bodies[0]["severity"] == "critical"
    [page] = entries(ledger, "runbook.page")
    assert page["evidence"]["delivery"]["webhook"] == receiver.url("").rstrip("/")
    assert page["outcome"] == ("sent" if status == 200 else "undelivered")
    if status == 503:  # an undelivered page fails the step, which escalates (and tries the webhook again)
        assert len(receiver.bodies) == 2
        assert receiver.bodies[1]["type"] == "escalation"
        assert len(entries(ledger, "runbook.escalate")) == 1
    everything = json.dumps(entries(ledger))
    assert "path-credential" not in everything
    assert "s3cret" not in everything


def test_a_failed_scheduled_backup_is_recorded_and_escalated(
    ledger: Ledger, started: list[RunbookEngine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(started, [], ledger)
    monkeypatch.delenv(KEY_ENV, raising=False)
    settings = Settings.model_validate(
        {"data_dir": str(tmp_path / "state"), "backup": {"key": {"env": KEY_ENV}, "interval_s": 60}}
    )
    scheduler = scheduled_backups(settings, ledger, engine, run_at_start=True)
    assert scheduler.run_pending()
    [failed] = entries(ledger, "backup.failed")
    assert failed["evidence"]["error"]["type"] == "ConfigError"
    assert KEY_ENV in failed["evidence"]["error"]["message"]
    [escalation] = entries(ledger, "runbook.escalate")
    assert escalation["evidence"]["source"] == "backup"
    assert "scheduled backup failed" in escalation["evidence"]["message"]

    monkeypatch.setenv(KEY_ENV, new_key())
    assert scheduled_backups(settings, ledger, engine, run_at_start=True).run_pending()
    assert len(entries(ledger, "backup.create")) == 1
    assert len(entries(ledger, "runbook.escalate")) == 1
