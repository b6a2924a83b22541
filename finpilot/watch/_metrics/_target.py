"""A scrape target: where its metrics are, and the ``job``/``instance`` labels its series get."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from finpilot.watch._errors import ScrapeTargetError

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


@dataclass(frozen=True)
class ScrapeTarget:
    """One endpoint serving Prometheus text, e.g. ``http://127.0.0.1:8001/metrics``.

    ``instance`` defaults to the URL's ``host:port``; ``labels`` are added to every series of the
    target (a label the target itself exposes under the same name is kept as ``exported_<name>``).
    """

    url: str
    job: str = "finpilot"
    instance: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ScrapeTargetError(
                f"scrape target {self.url!r} is not an http(s) URL with a host",
                field="target",
                fix="write it like http://127.0.0.1:8001/metrics",
            )
        if not self.job:
            raise ScrapeTargetError(f"scrape target {self.url}: empty job", field="job", fix="name the job")
        if not self.instance:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            object.__setattr__(self, "instance", f"{parts.hostname}:{port}")
        for name in self.labels:
            if not _LABEL_NAME.fullmatch(name) or name.startswith("__"):
                raise ScrapeTargetError(
                    f"scrape target {self.url}: {name!r} is not a label name",
                    field="labels",
                    fix="use [a-zA-Z_][a-zA-Z0-9_]* not starting with __",
                )
        object.__setattr__(self, "labels", dict(self.labels))

    @property
    def key(self) -> str:
        """The target's identity in health and rejection counts: ``job/instance``."""
        return f"{self.job}/{self.instance}"

    def target_labels(self) -> dict[str, str]:
        """The labels every one of this target's series gets."""
        return {**self.labels, "job": self.job, "instance": self.instance}


TargetSource = Callable[[], Sequence[ScrapeTarget]]
"""A callable asked for more targets before every scrape round (e.g. the local runtime's replicas).

It lets the composition root feed the scraper without ``watch`` importing ``heal``.
"""
