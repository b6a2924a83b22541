"""``finpilot --version`` and ``finpilot config``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cli_helpers import Invoke

from finpilot import __version__


def test_version(invoke: Invoke) -> None:
    result = invoke("--version", data=False)
    assert result.exit_code == 0
    assert result.stdout == f"finpilot {__version__}\n"


def test_schema_is_json_schema(invoke: Invoke) -> None:
    result = invoke("config", "schema", data=False)
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "properties" in schema
    assert {"data_dir", "audit", "console"} <= set(schema["properties"])


def test_check_ok(invoke: Invoke, tmp_path: Path) -> None:
    config = tmp_path / "finpilot.yaml"
    config.write_text("audit:\n  origin: example.com/audit\n")
    result = invoke("config", "check", str(config), data=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"ok: {config}"


def test_check_names_field_and_line(invoke: Invoke, tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("data_dir: /tmp/x\naudit:\n  origin: example.com/audit\n  max_batch: 0\n")
    result = invoke("config", "check", str(config), data=False)
    assert result.exit_code == 2
    assert "audit.max_batch" in result.stderr
    assert f"{config}:4:" in result.stderr
    assert result.stderr.startswith("error: ")
    assert "\nfix: " in result.stderr
    assert "Traceback" not in result.output


def test_check_json_error_on_stdout(invoke: Invoke, tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("console:\n  portt: 80\n")
    result = invoke("config", "check", str(config), "--json", data=False)
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert error["error"] == "ConfigError"
    assert error["field"] == "console.portt"


def test_check_defaults_to_finpilot_yaml_here(invoke: Invoke) -> None:
    # The invoke fixture runs in an empty directory.
    result = invoke("config", "check", data=False)
    assert result.exit_code == 2
    assert "finpilot.yaml" in result.stderr
    Path("finpilot.yaml").write_text("version: 1\n")
    result = invoke("config", "check", data=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "ok: finpilot.yaml"


def test_bad_config_file_fails_commands_that_need_settings(invoke: Invoke, tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("audit: [\n")
    result = invoke("--config", str(config), "audit", "tail", data=False)
    assert result.exit_code == 2
    assert "not valid YAML" in result.stderr


def test_show_applies_data_dir_and_redacts_password(invoke: Invoke, tmp_path: Path) -> None:
    config = tmp_path / "finpilot.yaml"
    config.write_text("storage:\n  dsn: postgresql://app:s3cret@db.example:5432/fin\n")
    result = invoke("--config", str(config), "--data-dir", str(tmp_path / "elsewhere"), "config", "show", data=False)
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.stdout
    shown = yaml.safe_load(result.stdout)
    assert shown["storage"]["dsn"] == "postgresql://app:***@db.example:5432/fin"
    assert shown["data_dir"] == str(tmp_path / "elsewhere")


def test_show_prints_secret_references_never_their_values(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = "alert-secret-do-not-print"
    monkeypatch.setenv("FP_TEST_ALERT_SECRET", value)
    key = tmp_path / "backup.key"
    key.write_text("00" * 32 + "\n")
    key.chmod(0o600)
    config = tmp_path / "finpilot.yaml"
    config.write_text(
        "fraud:\n  alerts:\n    webhook_url: https://hooks.example/x\n    secret: {env: FP_TEST_ALERT_SECRET}\n"
        f"backup:\n  key: {{file: {key}}}\n"
    )
    result = invoke("--config", str(config), "config", "show", "--json", data=False)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["fraud"]["alerts"]["secret"] == {"env": "FP_TEST_ALERT_SECRET"}
    assert shown["backup"]["key"] == {"file": str(key)}
    assert value not in result.stdout
    assert "00" * 32 not in result.stdout


def test_check_names_a_renamed_setting_its_new_name_and_the_fix(invoke: Invoke, tmp_path: Path) -> None:
    config = tmp_path / "old.yaml"
    config.write_text("backup:\n  key_env: FP_BACKUP_KEY\n")
    result = invoke("config", "check", str(config), "--json", data=False)
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert error["field"] == "backup.key_env"
    assert "backup.key_env was renamed: use backup.key: {env: NAME}" in error["message"]
    assert error["fix"] == "replace 'key_env: NAME' with 'key: {env: NAME}'"


def test_show_defaults_to_demo_settings(invoke: Invoke) -> None:
    result = invoke("config", "show", "--json", data=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["console"]["demo_token"] is True


def test_usage_error_exits_2(invoke: Invoke) -> None:
    result = invoke("config", "no-such-command", data=False)
    assert result.exit_code == 2
