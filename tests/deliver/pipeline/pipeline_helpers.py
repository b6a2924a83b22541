"""Helpers shared by the pipeline tests (a uniquely named module: conftest.py cannot be imported)."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import yaml

from finpilot.deliver import Pipeline, RunRecord, load_pipeline, run_pipeline

REPO = Path(__file__).resolve().parents[3]
PY = sys.executable

FAKE_FINPILOT = f"""#!{PY}
# A stand-in for the finpilot CLI: records its argv and writes the file its --out/--sarif/--junit names.
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_FINPILOT_LOG"], "a") as log:
    log.write(json.dumps({{"argv": args, "data_dir": os.environ.get("FINPILOT_DATA_DIR")}}) + "\\n")
for flag in ("--out", "--sarif", "--junit", "--report"):
    if flag in args:
        path = args[args.index(flag) + 1]
        with open(path, "w") as out:
            if flag == "--junit":
                out.write('<testsuite name="gates"><testcase name="semgrep"/></testsuite>')
            else:
                out.write(json.dumps({{"made_by": args[0], "subject": args[1]}}))
print(json.dumps({{"ok": True}}))
sys.exit(int(os.environ.get("FAKE_FINPILOT_EXIT", "0")))
"""


def write_pipeline(root: Path, steps: dict[str, Any], *, name: str = "t", max_parallel: int = 2) -> Path:
    """Write ``.finpilot/pipeline.yaml``-style content to ``root/pipeline.yaml`` and return its path."""
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump({"pipeline": {"name": name, "max_parallel": max_parallel, "steps": steps}}))
    return path


def py(code: str) -> list[str]:
    """argv running ``code`` with this interpreter."""
    return [PY, "-c", code]


def fake_finpilot(bin_dir: Path) -> Path:
    """Put a fake ``finpilot`` in ``bin_dir`` and return the directory (for PATH)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "finpilot"
    script.write_text(FAKE_FINPILOT)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def env_with(bin_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """This process's environment, ``bin_dir`` first on PATH."""
    env = dict(os.environ)
    if bin_dir is not None:
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def run(path: Path, data: Path, **kwargs: Any) -> RunRecord:
    """Load and run the pipeline in ``path`` with data dir ``data``."""
    pipeline: Pipeline = load_pipeline(path)
    return run_pipeline(pipeline, data_dir=data, **kwargs)


def statuses(record: RunRecord) -> dict[str, str]:
    """Each step's status."""
    return {s.name: s.status for s in record.steps}


def calls(log: Path) -> list[dict[str, Any]]:
    """The fake finpilot's recorded calls."""
    return [json.loads(line) for line in log.read_text().splitlines()]
