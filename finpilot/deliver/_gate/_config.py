"""The gate's config file (``--config``, YAML), typed and checked once."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from finpilot.core import StrictModel
from finpilot.deliver._gate._deps import DEFAULT_PROBE_URL
from finpilot.deliver._release import load_model_file

ScannerName = Literal["bandit", "semgrep", "detect-secrets", "checkov", "deps"]
ALL_SCANNERS: tuple[ScannerName, ...] = ("bandit", "semgrep", "detect-secrets", "checkov", "deps")
DEFAULT_EXCLUDE = (
    ".git", ".venv", "venv", "node_modules", "__pycache__", ".finpilot", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", ".hypothesis", "build", "dist", "*.egg-info",
)  # fmt: skip


class SemgrepConfig(StrictModel):
    """Semgrep's rule pack."""

    rules: Path | None = Field(default=None, description="Rule directory or file; default finpilot's fintech pack.")


class DepsConfig(StrictModel):
    """Where dependency advisories come from."""

    advisories: Path | None = Field(default=None, description="Advisory snapshot JSON used when offline.")
    probe_url: str = Field(default=DEFAULT_PROBE_URL, description="Asked first; if it answers, pip-audit runs.")
    probe_timeout_s: float = Field(default=2.0, gt=0, le=30)


class GateConfig(StrictModel):
    """Which scanners run over what, and which policy decides."""

    scanners: list[ScannerName] = Field(default=list(ALL_SCANNERS), min_length=1)
    exclude: list[str] = Field(default=list(DEFAULT_EXCLUDE), description="Names or globs of paths not scanned.")
    timeout_s: float = Field(default=600, gt=0, description="Per scanner run.")
    semgrep: SemgrepConfig = SemgrepConfig()
    deps: DepsConfig = DepsConfig()
    policy: str = Field(default="gate", description="A built-in policy name, or a path to a .rego file.")
    cache_dir: Path | None = Field(default=None, description="Default: <PATH>/.finpilot/cache/gate.")

    @classmethod
    def load(cls, path: Path) -> GateConfig:
        """Read and check a gate config; relative paths in it are taken from the file's folder."""
        config = load_model_file(cls, path, "gate config", fix="see docs/deliver-gates.md")
        base = path.parent
        rel: dict[str, object] = {
            "semgrep": config.semgrep.model_copy(
                update={"rules": base / config.semgrep.rules if config.semgrep.rules else None}
            ),
            "deps": config.deps.model_copy(
                update={"advisories": base / config.deps.advisories if config.deps.advisories else None}
            ),
            "cache_dir": base / config.cache_dir if config.cache_dir else None,
        }
        if config.policy.endswith(".rego"):
            rel["policy"] = str(base / config.policy)
        return config.model_copy(update=rel)
