"""finpilot.yaml: typed, validated, with errors that name the field and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from finpilot.core import ConfigError, Settings, demo_settings, load_settings, parse_settings, settings_schema


def test_empty_file_gives_defaults() -> None:
    assert parse_settings("") == Settings()


def test_values_are_typed() -> None:
    settings = parse_settings("data_dir: /srv/fp\naudit:\n  checkpoint_interval_s: 2\nconsole:\n  port: 9000\n")
    assert settings.data_dir == Path("/srv/fp")
    assert settings.audit.checkpoint_interval_s == 2.0
    assert settings.console.port == 9000


@pytest.mark.parametrize(
    ("text", "field", "line"),
    [
        ("audit:\n  origin: x\n  checkpoint_interval_s: -1\n", "audit.checkpoint_interval_s", 3),
        ("console:\n  port: 70000\n", "console.port", 2),
        ("data_dir: x\naudit:\n  orgin: typo\n", "audit.orgin", 3),
        ("storage:\n  dsn: mysql://nope\n", "storage.dsn", 2),
        ("version: 2\n", "version", 1),
    ],
)
def test_errors_name_field_and_line(text: str, field: str, line: int) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(text, source="f.yaml")
    assert info.value.field == field
    assert info.value.line == line
    assert f"f.yaml:{line}" in str(info.value)
    assert field in str(info.value)


def test_yaml_syntax_error_names_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings("audit:\n  origin: [unclosed\n  x: 1\n")
    assert info.value.line is not None
    assert info.value.line >= 2


def test_top_level_must_be_mapping() -> None:
    with pytest.raises(ConfigError, match="mapping"):
        parse_settings("- a\n- b\n")


def test_relative_data_dir_is_relative_to_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "conf" / "finpilot.yaml"
    cfg.parent.mkdir()
    cfg.write_text("data_dir: state\n")
    assert load_settings(cfg).data_dir == cfg.parent / "state"


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")


def test_schema_documents_every_field() -> None:
    schema = settings_schema()
    assert schema["title"] == "finpilot.yaml"
    defs = schema["$defs"]
    assert isinstance(defs, dict)
    for model in defs.values():
        for name, prop in model["properties"].items():
            assert prop.get("description"), f"{name} has no description"


def test_demo_settings_turn_on_demo_token() -> None:
    assert demo_settings().console.demo_token is True
    assert Settings().console.demo_token is False
