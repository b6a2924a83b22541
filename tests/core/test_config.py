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


@pytest.mark.parametrize(
    ("text", "field", "line", "new", "fix"),
    [
        (
            "backup:\n  keep_last: 3\n  key_env: FP_BACKUP_KEY\n",
            "backup.key_env",
            3,
            "backup.key: {env: NAME}",
            "replace 'key_env: NAME' with 'key: {env: NAME}'",
        ),
        (
            "backup:\n  key_file: /etc/fp/backup.key\n",
            "backup.key_file",
            2,
            "backup.key: {file: PATH}",
            "replace 'key_file: PATH' with 'key: {file: PATH}'",
        ),
        (
            "backup:\n  max_age_days: 30\n",
            "backup.max_age_days",
            2,
            "backup.max_age_s",
            "write 'max_age_s: 2592000' (30 days)",
        ),
        (
            "fraud:\n  alerts:\n    webhook_url: https://h.example/x\n    secret_env: FP_ALERT\n",
            "fraud.alerts.secret_env",
            4,
            "fraud.alerts.secret: {env: NAME}",
            "replace 'secret_env: NAME' with 'secret: {env: NAME}'",
        ),
        (
            "runbooks:\n  secret_env: FP_PAGER\n",
            "runbooks.secret_env",
            2,
            "runbooks.secret: {env: NAME}",
            "replace 'secret_env: NAME' with 'secret: {env: NAME}'",
        ),
        (
            "runtime:\n  heartbeat_period_s: 0.3\n",
            "runtime.heartbeat_period_s",
            2,
            "runtime.heartbeat_interval_s",
            "rename the key; the value is unchanged",
        ),
        (
            "runtime:\n  reconcile_period_s: 0.1\n",
            "runtime.reconcile_period_s",
            2,
            "runtime.reconcile_interval_s",
            "rename the key; the value is unchanged",
        ),
        (
            "db:\n  ha:\n    check_period_s: 0.5\n",
            "db.ha.check_period_s",
            3,
            "db.ha.check_interval_s",
            "rename the key; the value is unchanged",
        ),
        (
            "runtime:\n  services:\n    api:\n      module: app\n      probes:\n"
            "        readiness: {tcp: true, period_s: 1}\n",
            "runtime.services.api.probes.readiness.period_s",
            6,
            "runtime.services.api.probes.readiness.interval_s",
            "rename the key to interval_s; the value is unchanged",
        ),
    ],
)
def test_renamed_settings_fail_naming_the_old_field_the_new_one_and_the_fix(
    text: str, field: str, line: int, new: str, fix: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(text, source="old.yaml")
    assert info.value.field == field
    assert info.value.line == line
    assert f"old.yaml:{line}:" in info.value.message
    assert f"{field} was renamed: use {new}" in info.value.message
    assert info.value.fix == fix


def test_every_renamed_setting_is_gone_from_the_schema() -> None:
    from finpilot.core._config_renames import RENAMED

    defs = settings_schema()["$defs"]
    assert isinstance(defs, dict)
    properties = {name for model in defs.values() for name in model["properties"]}
    properties |= set(Settings.model_fields)
    for renamed in RENAMED:
        assert renamed.old[-1] not in properties, renamed.old


def test_durations_are_seconds_named_with_s() -> None:
    # The one rule: a duration is a number of seconds and its name ends in _s; "how often" is interval_s.
    defs = settings_schema()["$defs"]
    assert isinstance(defs, dict)
    names = {name for model in defs.values() for name in model["properties"]}
    assert not {n for n in names if n.endswith(("_days", "_hours", "_minutes", "_ms", "period_s", "interval"))}
    assert {"checkpoint_interval_s", "heartbeat_interval_s", "reconcile_interval_s", "check_interval_s"} <= names
