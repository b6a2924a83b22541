"""The content-hash cache: unchanged inputs reuse the outcome and artifacts; any change runs the step again."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_helpers import py, run, statuses, write_pipeline

from finpilot.deliver import load_pipeline
from finpilot.deliver._pipeline import cache_key

# Counts its own runs in runs.txt, so a test sees whether the step really ran.
_COUNT = "open('runs.txt', 'a').write('x'); open('out.bin', 'wb').write(open('src/a.py', 'rb').read())"


def _pipeline(root: Path) -> Path:
    (root / "src").mkdir(exist_ok=True)
    (root / "src" / "a.py").write_text("a = 1\n")
    return write_pipeline(
        root,
        {
            "build": {"type": "run", "command": py(_COUNT), "inputs": ["src/*.py"], "artifacts": {"out": "out.bin"}},
            "after": {"type": "run", "needs": ["build"], "command": "true", "inputs": ["src/*.py"]},
            "always": {"type": "run", "command": "true"},
        },
    )


def _runs(root: Path) -> int:
    return len((root / "runs.txt").read_text())


def test_unchanged_inputs_are_cached_and_a_change_runs_again(tmp_path: Path) -> None:
    path, data = _pipeline(tmp_path), tmp_path / "data"
    first = run(path, data)
    assert statuses(first) == {"build": "passed", "after": "passed", "always": "passed"}
    second = run(path, data)
    assert statuses(second) == {"build": "cached", "after": "cached", "always": "passed"}  # no inputs: never cached
    assert _runs(tmp_path) == 1
    build = second.step("build")
    assert build.cached_from == first.id
    assert build.cache_key == first.step("build").cache_key
    assert build.artifacts == first.step("build").artifacts
    assert (data / "pipelines" / "runs" / second.id / build.artifacts[0].path).read_bytes() == b"a = 1\n"

    (tmp_path / "src" / "a.py").write_text("a = 2\n")
    third = run(path, data)
    assert statuses(third)["build"] == "passed"
    assert statuses(third)["after"] == "passed"  # its own inputs changed too, and so did its need's key
    assert _runs(tmp_path) == 2


def test_a_new_input_file_or_a_changed_definition_runs_again(tmp_path: Path) -> None:
    path, data = _pipeline(tmp_path), tmp_path / "data"
    run(path, data)
    (tmp_path / "src" / "b.py").write_text("")
    assert statuses(run(path, data))["build"] == "passed"
    assert statuses(run(path, data))["build"] == "cached"
    text = path.read_text()
    path.write_text(text.replace("name: t", "name: t2"))  # the pipeline's name is not part of a step
    assert statuses(run(path, data))["build"] == "cached"
    path.write_text(text.replace("src/*.py", "src/a*.py"))
    assert statuses(run(path, data))["build"] == "passed"


def test_no_cache_runs_everything(tmp_path: Path) -> None:
    path, data = _pipeline(tmp_path), tmp_path / "data"
    run(path, data)
    record = run(path, data, use_cache=False)
    assert statuses(record)["build"] == "passed"
    assert record.step("build").cache_key is None
    assert _runs(tmp_path) == 2


def test_a_failure_is_not_cached(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("x")
    path = write_pipeline(
        tmp_path,
        {"a": {"type": "run", "command": py("open('n', 'a').write('x'); raise SystemExit(1)"), "inputs": ["in.txt"]}},
    )
    run(path, tmp_path / "data")
    assert statuses(run(path, tmp_path / "data")) == {"a": "failed"}
    assert (tmp_path / "n").read_text() == "xx"


def test_a_tampered_cached_artifact_is_a_miss(tmp_path: Path) -> None:
    path, data = _pipeline(tmp_path), tmp_path / "data"
    first = run(path, data)
    stored = data / "pipelines" / "runs" / first.id / first.step("build").artifacts[0].path
    stored.write_bytes(b"changed after the fact")
    assert statuses(run(path, data))["build"] == "passed"
    assert _runs(tmp_path) == 2


def test_the_release_is_part_of_a_thin_steps_key_only(tmp_path: Path) -> None:
    (tmp_path / "w.whl").write_text("w")
    path = write_pipeline(
        tmp_path,
        {
            "t": {"type": "run", "command": "true", "inputs": ["w.whl"]},
            "s": {"type": "sign", "artifact": "w.whl", "inputs": ["w.whl"]},
        },
    )
    pipeline = load_pipeline(path)
    run_step, sign_step = pipeline.spec.steps["t"], pipeline.spec.steps["s"]
    key = lambda step, release: cache_key(step, root=tmp_path, release=release, needed_keys=[])  # noqa: E731
    assert key(run_step, "r-1") == key(run_step, "r-2")
    assert key(sign_step, "r-1") != key(sign_step, "r-2")
    assert cache_key(run_step, root=tmp_path, release=None, needed_keys=["k"]) != key(run_step, None)


@settings(max_examples=40, deadline=None)
@given(
    content=st.binary(max_size=256),
    change=st.one_of(
        st.binary(min_size=1, max_size=8).map(lambda b: ("append", b)),
        st.integers(min_value=0, max_value=255).map(lambda i: ("flip", i)),
        st.just(("truncate", 0)),
    ),
)
def test_any_change_to_an_input_file_changes_the_key(content: bytes, change: tuple[str, object]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "src").mkdir()
        target = root / "src" / "in.bin"
        target.write_bytes(content)
        path = write_pipeline(root, {"a": {"type": "run", "command": "true", "inputs": ["src/**/*"]}})
        step = load_pipeline(path).spec.steps["a"]
        before = cache_key(step, root=root, release=None, needed_keys=[])
        how, arg = change
        if how == "append":
            assert isinstance(arg, bytes)
            changed = content + arg
        elif how == "flip" and content:
            assert isinstance(arg, int)
            i = arg % len(content)
            changed = content[:i] + bytes([content[i] ^ 0xFF]) + content[i + 1 :]
        else:
            changed = content[:-1] if content else b"\0"
        target.write_bytes(changed)
        assert changed != content
        assert cache_key(step, root=root, release=None, needed_keys=[]) != before
        target.write_bytes(content)
        assert cache_key(step, root=root, release=None, needed_keys=[]) == before  # and only a change does
