"""Loading pipelines: every kind of bad input is a precise error (file, line, field, what to do), never a pass."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_helpers import REPO, write_pipeline

from finpilot.core import ConfigError, InputError, load_settings
from finpilot.deliver import find_pipeline_file, load_pipeline
from finpilot.deliver._pipeline import find_cycle, topological


def _load_text(tmp_path: Path, text: str) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    load_pipeline(path)


def test_a_cycle_is_named(tmp_path: Path) -> None:
    text = (
        "pipeline:\n  name: x\n  steps:\n"
        "    build: {type: run, command: 'true'}\n"
        "    test: {type: run, command: 'true', needs: [build, gate]}\n"
        "    gate: {type: gate, needs: [test]}\n"
    )
    with pytest.raises(ConfigError) as caught:
        _load_text(tmp_path, text)
    # Read as "test needs gate, which needs test", from the first step of the cycle in the file.
    assert "test -> gate -> test" in caught.value.message
    assert caught.value.field == "pipeline.steps.test.needs"
    assert caught.value.line == 5


def test_a_step_needing_itself_is_a_cycle(tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, {"a": {"type": "run", "command": "true", "needs": ["a"]}})
    with pytest.raises(ConfigError, match="a -> a"):
        load_pipeline(path)


def test_an_unknown_type_is_named_with_the_known_ones(tmp_path: Path) -> None:
    text = "pipeline:\n  name: x\n  steps:\n    a:\n      type: shell\n      command: 'true'\n"
    with pytest.raises(ConfigError) as caught:
        _load_text(tmp_path, text)
    message = caught.value.message
    assert "'shell'" in message
    assert "run, gate, sbom, sign, provenance, deploy" in message
    assert caught.value.line == 5
    assert caught.value.field == "pipeline.steps.a.type"


def test_a_missing_need_is_named(tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, {"a": {"type": "run", "command": "true", "needs": ["nope"]}})
    with pytest.raises(ConfigError, match="needs 'nope', which is not a step"):
        load_pipeline(path)


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    text = "pipeline:\n  name: x\n  steps:\n    a: {type: run, command: 'true'\n    b: 1\n"
    with pytest.raises(ConfigError) as caught:
        _load_text(tmp_path, text)
    assert "pipeline.yaml:5:" in caught.value.message
    assert caught.value.line == 5


def test_a_typo_names_the_field_and_line(tmp_path: Path) -> None:
    text = "pipeline:\n  name: x\n  steps:\n    a:\n      type: run\n      comand: 'true'\n"
    with pytest.raises(ConfigError) as caught:
        _load_text(tmp_path, text)
    assert caught.value.field == "pipeline.steps.a.comand"
    assert caught.value.line == 6
    assert "unknown field" in caught.value.message


@pytest.mark.parametrize(
    ("step", "words"),
    [
        ({"type": "run", "command": "true", "inputs": ["../secrets/*"]}, "inside the pipeline's directory"),
        ({"type": "run", "command": "true", "artifacts": {"x": "/etc/passwd"}}, "inside the pipeline's directory"),
        ({"type": "run", "command": "true", "working_dir": ".."}, "inside the pipeline's directory"),
        ({"type": "sbom", "path": ".", "out": "../sbom.json"}, "inside the pipeline's directory"),
        ({"type": "run", "command": ""}, "the command is empty"),
        ({"type": "run", "command": "true", "timeout_s": 0}, "greater than 0"),
        ({"type": "sign"}, "Field required"),
    ],
)
def test_bad_fields_are_refused(tmp_path: Path, step: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        load_pipeline(write_pipeline(tmp_path, {"a": step}))


def test_a_reference_needs_the_step_and_its_artifact(tmp_path: Path) -> None:
    build = {"type": "run", "command": "true", "artifacts": {"wheel": "*.whl"}}
    sign_unrelated = {"type": "sign", "artifact": "${steps.build.artifacts.wheel}"}
    with pytest.raises(ConfigError, match="refers to step 'build', which it does not need"):
        load_pipeline(write_pipeline(tmp_path, {"build": build, "sign": sign_unrelated}))
    sign_typo = {"type": "sign", "needs": ["build"], "artifact": "${steps.build.artifacts.wehel}"}
    with pytest.raises(ConfigError, match="has no artifact 'wehel'") as caught:
        load_pipeline(write_pipeline(tmp_path, {"build": build, "sign": sign_typo}))
    assert caught.value.fix is not None
    assert "wheel" in caught.value.fix


def test_a_pipeline_file_of_its_own_holds_only_the_pipeline(tmp_path: Path) -> None:
    text = "pipeline:\n  name: x\n  steps:\n    a: {type: run, command: 'true'}\ndata_dir: /tmp\n"
    with pytest.raises(ConfigError, match="unknown top-level key 'data_dir'"):
        _load_text(tmp_path, text)
    with pytest.raises(ConfigError, match="no top-level 'pipeline:' section"):
        _load_text(tmp_path, "steps: {}\n")


def test_finpilot_yaml_carries_settings_and_the_pipeline(tmp_path: Path) -> None:
    config = tmp_path / "finpilot.yaml"
    config.write_text("data_dir: data\npipeline:\n  name: x\n  steps:\n    a: {type: run, command: 'true'}\n")
    assert load_settings(config).data_dir == tmp_path / "data"  # the settings model accepts the section
    assert find_pipeline_file(tmp_path) == config
    assert load_pipeline(config).spec.name == "x"


def test_the_search_order_and_its_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no pipeline in") as caught:
        find_pipeline_file(tmp_path)
    assert caught.value.field == "--file"
    (tmp_path / "finpilot.yaml").write_text("data_dir: data\n")  # settings only: not a pipeline
    own = tmp_path / ".finpilot" / "pipeline.yaml"
    own.parent.mkdir()
    own.write_text("pipeline:\n  name: y\n  steps:\n    a: {type: run, command: 'true'}\n")
    assert find_pipeline_file(tmp_path) == own


def test_the_payments_example_loads_and_is_a_dag() -> None:
    pipeline = load_pipeline(REPO / "examples" / "payments" / "finpilot.yaml")
    order = topological(pipeline.needs)
    assert order[0] == "test"
    assert order[-1] == "deploy"
    assert {s.type for s in pipeline.spec.steps.values()} == {"run", "gate", "sbom", "sign", "provenance", "deploy"}
    for name, step in pipeline.spec.steps.items():
        assert all(order.index(n) < order.index(name) for n in step.needs)
    assert set(pipeline.spec.steps["deploy"].needs) == {"gate", "sbom", "sign", "provenance"}


def test_the_digest_follows_the_pipeline_section(tmp_path: Path) -> None:
    config = tmp_path / "finpilot.yaml"
    config.write_text("data_dir: a\npipeline:\n  name: x\n  steps:\n    a: {type: run, command: 'true'}\n")
    first = load_pipeline(config).digest
    config.write_text("data_dir: b\npipeline:\n  name: x\n  steps:\n    a: {type: run, command: 'true'}\n")
    assert load_pipeline(config).digest == first  # settings around it do not matter
    config.write_text("data_dir: b\npipeline:\n  name: x\n  steps:\n    a: {type: run, command: 'false'}\n")
    assert load_pipeline(config).digest != first


names = st.sampled_from([f"s{i}" for i in range(8)])


def test_a_cycle_starts_at_its_first_step_in_the_file() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["d"], "d": ["b"]}) == ["b", "c", "d", "b"]
    assert find_cycle({"x": [], "c": ["a"], "a": ["b"], "b": ["c"]}) == ["c", "a", "b", "c"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(names, names), max_size=20))
def test_find_cycle_finds_a_real_cycle_or_proves_an_order(edges: list[tuple[str, str]]) -> None:
    needs: dict[str, list[str]] = {f"s{i}": [] for i in range(8)}
    for step, need in edges:
        if need not in needs[step]:
            needs[step].append(need)
    cycle = find_cycle(needs)
    if cycle:
        assert cycle[0] == cycle[-1]
        assert all(b in needs[a] for a, b in itertools.pairwise(cycle))
    else:
        order = topological(needs)
        assert sorted(order) == sorted(needs)
        assert all(order.index(n) < order.index(s) for s in needs for n in needs[s])


def test_the_example_yaml_is_plain_yaml() -> None:
    # The example is also finpilot's settings for that directory: keep it a mapping with data_dir.
    data = yaml.safe_load((REPO / "examples" / "payments" / "finpilot.yaml").read_text())
    assert set(data) == {"data_dir", "pipeline"}
