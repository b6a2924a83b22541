"""Secrets in finpilot.yaml: one reference shape, one resolver, and the value never in sight."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from finpilot.core import ConfigError, SecretRef, parse_settings, resolve_secret, settings_schema

SECRET = "correct-horse-battery-staple"


def test_env_reference_resolves_from_the_given_environment() -> None:
    ref = SecretRef(env="FP_TEST_SECRET")
    assert resolve_secret(ref, field="x.secret", environ={"FP_TEST_SECRET": SECRET}) == SECRET.encode()
    assert str(ref) == "env:FP_TEST_SECRET"
    assert ref.name == "FP_TEST_SECRET"


@pytest.mark.parametrize("environ", [{}, {"FP_TEST_SECRET": ""}])
def test_missing_or_empty_variable_names_the_field_and_the_variable(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_secret(SecretRef(env="FP_TEST_SECRET"), field="fraud.alerts.secret", environ=environ, hint="a key")
    assert caught.value.field == "fraud.alerts.secret"
    assert "FP_TEST_SECRET" in caught.value.message
    assert caught.value.fix == "export FP_TEST_SECRET=<a key>"


def test_file_reference_reads_a_private_file_without_its_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text(SECRET + "\n")
    path.chmod(0o600)
    ref = SecretRef(file=path)
    assert resolve_secret(ref, field="runbooks.secret") == SECRET.encode()
    assert resolve_secret(ref, field="backup.key", text=False) == SECRET.encode() + b"\n"
    assert str(ref) == f"file:{path}"
    assert ref.name == "secret"


def test_file_readable_by_others_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text(SECRET)
    path.chmod(0o640)
    with pytest.raises(ConfigError, match="readable by group or others") as caught:
        resolve_secret(SecretRef(file=path), field="runbooks.secret")
    assert caught.value.fix == f"chmod 600 {path}"
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("content", ["", "\n"])
def test_missing_or_empty_file_is_refused(tmp_path: Path, content: str) -> None:
    with pytest.raises(ConfigError, match="does not exist") as missing:
        resolve_secret(SecretRef(file=tmp_path / "nope"), field="backup.key")
    assert missing.value.field == "backup.key"
    path = tmp_path / "empty"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="is empty"):
        resolve_secret(SecretRef(file=path), field="backup.key")


@pytest.mark.parametrize("data", [{}, {"env": "A", "file": "/k"}])
def test_a_reference_names_exactly_one_source(data: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="exactly one of 'env' or 'file'"):
        SecretRef.model_validate(data)


def test_an_inline_secret_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(f"fraud:\n  alerts:\n    webhook_url: https://hooks.example/x\n    secret: {SECRET}\n")
    assert caught.value.field == "fraud.alerts.secret"
    assert caught.value.line == 4
    assert "never inline" in caught.value.message
    assert SECRET not in str(caught.value)


def test_every_secret_setting_takes_the_same_reference_shape() -> None:
    settings = parse_settings(
        "fraud:\n  alerts:\n    webhook_url: https://hooks.example/x\n    secret: {env: FP_ALERT_SECRET}\n"
        "runbooks:\n  webhook_url: https://pager.example/p\n  secret: {file: /etc/finpilot/pager.secret}\n"
        "backup:\n  key: {file: /etc/finpilot/backup.key}\n"
        "runtime:\n  services:\n    api:\n      module: app\n      secrets: {TOKEN: {env: HOST_TOKEN}}\n"
    )
    assert settings.fraud.alerts.secret == SecretRef(env="FP_ALERT_SECRET")
    assert settings.runbooks.secret == SecretRef(file=Path("/etc/finpilot/pager.secret"))
    assert settings.backup.key == SecretRef(file=Path("/etc/finpilot/backup.key"))
    assert settings.runtime.services["api"].secrets["TOKEN"] == SecretRef(env="HOST_TOKEN")
    # `config show` prints the shape a person writes: only the key that is set.
    dumped = settings.model_dump(mode="json")
    assert dumped["fraud"]["alerts"]["secret"] == {"env": "FP_ALERT_SECRET"}
    assert dumped["backup"]["key"] == {"file": "/etc/finpilot/backup.key"}


def test_the_schema_has_one_secret_shape_and_no_old_secret_fields() -> None:
    schema = settings_schema()
    defs = schema["$defs"]
    assert isinstance(defs, dict)
    ref = "#/$defs/SecretRef"
    text = json.dumps(schema)
    for model, prop in [("FraudAlertSettings", "secret"), ("RunbookSettings", "secret"), ("BackupSettings", "key")]:
        assert ref in json.dumps(defs[model]["properties"][prop]), f"{model}.{prop}"
    assert ref in json.dumps(defs["ServiceSpec"]["properties"]["secrets"])
    for old in ("secret_env", "key_env", "key_file"):
        assert f'"{old}"' not in text
    assert defs["SecretRef"]["maxProperties"] == 1
