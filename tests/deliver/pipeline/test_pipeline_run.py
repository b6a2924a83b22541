"""Running pipelines: DAG order, bounded concurrency, failure propagation, timeouts, records and file modes."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest
from pipeline_helpers import py, run, statuses, write_pipeline

from finpilot.deliver import load_run, read_log

# Two steps that each wait for the other's mark: they pass only when they run at the same time.
_MEET = (
    "import os, sys, time\nopen('{me}', 'w').close()\nend = time.time() + 3\n"
    "while not os.path.exists('{other}'):\n    time.sleep(0.01)\n    if time.time() > end: sys.exit(9)\n"
)


def _meeting(tmp_path: Path, max_parallel: int) -> Path:
    # Alone, a step is killed after 1 s rather than waiting out its 3 s.
    limit = {"timeout_s": 1.0} if max_parallel == 1 else {}
    return write_pipeline(
        tmp_path,
        {
            "a": {"type": "run", "command": py(_MEET.format(me="a.mark", other="b.mark")), **limit},
            "b": {"type": "run", "command": py(_MEET.format(me="b.mark", other="a.mark")), **limit},
        },
        max_parallel=max_parallel,
    )


def test_independent_steps_run_at_the_same_time(tmp_path: Path) -> None:
    record = run(_meeting(tmp_path, 2), tmp_path / "data")
    assert statuses(record) == {"a": "passed", "b": "passed"}
    assert record.status == "passed"


def test_max_parallel_bounds_concurrency(tmp_path: Path) -> None:
    record = run(_meeting(tmp_path, 1), tmp_path / "data")
    # One at a time: the first waits for a mark the second never gets to write.
    assert "failed" in statuses(record).values()
    assert record.status == "failed"


def test_a_step_starts_after_what_it_needs(tmp_path: Path) -> None:
    stamp = "import time; open('{n}.t', 'w').write(repr(time.time())); time.sleep(0.05)"
    path = write_pipeline(
        tmp_path,
        {
            "c": {"type": "run", "needs": ["a", "b"], "command": py(stamp.format(n="c"))},
            "a": {"type": "run", "command": py(stamp.format(n="a"))},
            "b": {"type": "run", "needs": ["a"], "command": py(stamp.format(n="b"))},
        },
    )
    record = run(path, tmp_path / "data")
    assert [s.name for s in record.steps] == ["a", "b", "c"]
    t = {n: float((tmp_path / f"{n}.t").read_text()) for n in "abc"}
    assert t["a"] < t["b"] < t["c"]


def test_a_failure_skips_its_dependants_only(tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path,
        {
            "test": {"type": "run", "command": py("import sys; print('boom'); sys.exit(3)")},
            "gate": {"type": "run", "needs": ["test"], "command": "true"},
            "deploy": {"type": "run", "needs": ["gate"], "command": "true"},
            "docs": {"type": "run", "command": "true"},
        },
    )
    record = run(path, tmp_path / "data")
    assert statuses(record) == {"test": "failed", "gate": "skipped", "deploy": "skipped", "docs": "passed"}
    assert record.status == "failed"
    test = record.step("test")
    assert test.exit_code == 3
    assert test.reason == "exited with code 3"
    assert record.step("gate").reason == "needs 'test', which failed"
    assert record.step("deploy").reason == "needs 'gate', which skipped"
    text, _size, _cut = read_log(tmp_path / "data", record.id, "test")
    assert "boom" in text


def test_timeout_kills_the_step(tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path, {"slow": {"type": "run", "command": py("import time; time.sleep(30)"), "timeout_s": 0.5}}
    )
    began = time.monotonic()
    record = run(path, tmp_path / "data")
    assert time.monotonic() - began < 10
    assert record.step("slow").status == "failed"
    assert "timed out after 0.5 s" in (record.step("slow").reason or "")


def test_a_missing_program_fails_the_step_with_its_name(tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, {"a": {"type": "run", "command": "no-such-program-xyz --flag"}})
    record = run(path, tmp_path / "data")
    assert record.step("a").status == "failed"
    assert "'no-such-program-xyz' not found" in (record.step("a").reason or "")


def test_the_command_string_is_split_without_a_shell(tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, {"a": {"type": "run", "command": "echo '$HOME; rm -rf /' `id`"}})
    record = run(path, tmp_path / "data")
    text, _, _ = read_log(tmp_path / "data", record.id, "a")
    assert text.strip() == "$HOME; rm -rf / `id`"


def test_env_and_working_dir(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    env = "os.environ['GREETING'], os.environ['FINPILOT_DATA_DIR'], os.environ['FINPILOT_RELEASE']"
    code = f"import os; print(os.getcwd(), {env})"
    path = write_pipeline(
        tmp_path, {"a": {"type": "run", "command": py(code), "env": {"GREETING": "hi"}, "working_dir": "sub"}}
    )
    record = run(path, tmp_path / "data", release="r-1")
    text, _, _ = read_log(tmp_path / "data", record.id, "a")
    assert text.split() == [str(tmp_path / "sub"), "hi", str(tmp_path / "data"), "r-1"]


def test_artifacts_are_collected_with_digests_and_referenced(tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path,
        {
            "build": {
                "type": "run",
                "command": py(
                    "import os; os.makedirs('dist', exist_ok=True); open('dist/app-1.0.whl', 'wb').write(b'wheel')"
                ),
                "artifacts": {"wheel": "dist/*.whl"},
            },
            "use": {
                "type": "run",
                "needs": ["build"],
                "env": {"WHEEL": "${steps.build.artifacts.wheel}"},
                "command": [
                    *py("import os, sys; print(open(sys.argv[1]).read(), open(os.environ['WHEEL']).read())"),
                    "${steps.build.artifacts.wheel}",
                ],
            },
        },
    )
    data = tmp_path / "data"
    record = run(path, data)
    assert record.status == "passed", record
    (artifact,) = record.step("build").artifacts
    assert artifact.name == "wheel"
    assert artifact.path == "artifacts/build/dist/app-1.0.whl"
    assert artifact.digest == "sha256:" + __import__("hashlib").sha256(b"wheel").hexdigest()
    text, _, _ = read_log(data, record.id, "use")
    assert text.strip() == "wheel wheel"  # through argv and through env
    assert record.step("use").argv[-1] == str(data / "pipelines" / "runs" / record.id / artifact.path)


def test_a_declared_artifact_that_is_not_made_fails_the_step(tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, {"a": {"type": "run", "command": "true", "artifacts": {"wheel": "dist/*.whl"}}})
    record = run(path, tmp_path / "data")
    assert record.step("a").status == "failed"
    assert record.step("a").reason == "artifact 'wheel' (dist/*.whl) matched no file"


def test_the_run_record_and_its_files_are_private(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_pipeline(
        tmp_path, {"a": {"type": "run", "command": py("open('o.txt', 'w').write('x')"), "artifacts": {"o": "o.txt"}}}
    )
    data = tmp_path / "data"
    record = run(path, data, release="payments-1.4.0")
    where = data / "pipelines" / "runs" / record.id
    stored = json.loads((where / "run.json").read_text())
    assert stored["release"] == "payments-1.4.0"
    assert stored["steps"][0]["status"] == "passed"
    assert stored["steps"][0]["log"] == "logs/a.log"
    assert load_run(data, record.id) == record
    for item in [data / "pipelines", where.parent, where, *where.rglob("*")]:
        mode = stat.S_IMODE(item.stat().st_mode)
        assert mode == (0o700 if item.is_dir() else 0o600), f"{item}: {mode:o}"
    # Created private, not repaired afterwards (a repair logs a warning).
    assert not [r for r in caplog.records if "readable by other users" in r.getMessage()]


def test_progress_is_reported_at_every_change(tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path, {"a": {"type": "run", "command": "true"}, "b": {"type": "run", "needs": ["a"], "command": "true"}}
    )
    seen: list[tuple[str, str]] = []
    run(path, tmp_path / "data", on_change=lambda r: seen.append((r.step("a").status, r.step("b").status)))
    assert seen[0] == ("pending", "pending")
    assert ("running", "pending") in seen
    assert ("passed", "running") in seen
    assert seen[-1] == ("passed", "passed")
