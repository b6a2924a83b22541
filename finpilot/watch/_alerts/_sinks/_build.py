"""Sinks from settings: resolve each URL (and secret) reference once, when the manager is built."""

from __future__ import annotations

from collections.abc import Mapping

from finpilot.core import ConfigError, WatchAlertSettings, resolve_secret
from finpilot.watch._alerts._sinks._alertmanager import AlertmanagerSink
from finpilot.watch._alerts._sinks._interface import Sink
from finpilot.watch._alerts._sinks._slack import SlackSink
from finpilot.watch._alerts._sinks._webhook import WebhookSink


def build_sinks(settings: WatchAlertSettings, environ: Mapping[str, str] | None = None) -> dict[str, Sink]:
    """Every configured sink by name; raises ``ConfigError`` naming the setting when a secret is missing."""
    sinks: dict[str, Sink] = {}
    for index, spec in enumerate(settings.sinks):
        where = f"watch.alerts.sinks[{index}]"
        url = resolve_secret(spec.url, field=f"{where}.url", environ=environ, hint="the URL").decode().strip()
        if not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
            # Never echo it: the URL is the secret (a Slack webhook's path is its token).
            raise ConfigError(
                f"the URL that {spec.url} holds ({where}.url) is not an http(s) URL",
                field=f"{where}.url",
                fix="store the whole URL, e.g. https://hooks.example/..., in that variable or file",
            )
        if spec.type == "webhook":
            secret = (
                resolve_secret(spec.secret, field=f"{where}.secret", environ=environ)
                if spec.secret is not None
                else None
            )
            sinks[spec.name] = WebhookSink(spec.name, url, secret, spec.timeout_s, spec.attempts)
        elif spec.type == "alertmanager":
            sinks[spec.name] = AlertmanagerSink(spec.name, url, spec.timeout_s, spec.attempts)
        else:
            sinks[spec.name] = SlackSink(spec.name, url, spec.timeout_s, spec.attempts)
    return sinks
