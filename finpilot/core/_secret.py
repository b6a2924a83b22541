"""Secrets in ``finpilot.yaml``: one shape, :class:`SecretRef`, and one function that reads them.

Every setting that names a secret (the alert and pager webhooks' HMAC secrets, the backup key,
a service's ``secrets:``) takes the same reference, ``{env: NAME}`` or ``{file: PATH}``, never
the value itself, so the config can be committed, shown and audited safely. The value is read
only by :func:`resolve_secret`, at the moment it is needed; its errors name the setting and the
variable or file, never what was (or was not) found in it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from finpilot.core._errors import ConfigError
from finpilot.core._field_problem import FieldProblem
from finpilot.core._model import StrictModel


class SecretRef(StrictModel):
    """A secret by reference: exactly one of ``env`` (a variable's name) or ``file`` (a chmod 600 file)."""

    # Merged with StrictModel's config; tells editors (via the JSON Schema) that one key is set.
    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Name of the environment variable holding the value (never the value itself).",
    )
    file: Path | None = Field(
        default=None,
        description=(
            "Path of a file holding the value; it must not be readable by group or others (chmod 600). "
            "A trailing newline is not part of a text secret."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _by_reference(cls, data: Any) -> Any:
        if isinstance(data, str | bytes | int | float):
            # Never echo the input: a string here is most likely the secret itself.
            raise FieldProblem(
                "a secret is given by reference, never inline",
                fix="write {env: NAME} (an environment variable's name) or {file: PATH} (a chmod 600 file)",
            )
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise FieldProblem(
                "a secret reference needs exactly one of 'env' or 'file'",
                fix="write {env: NAME} or {file: PATH}",
            )
        return self

    @model_serializer(mode="wrap")
    def _only_the_one_set(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # `config show` prints {env: NAME}, the shape a person writes, without a null beside it.
        return {key: value for key, value in handler(self).items() if value is not None}

    @property
    def name(self) -> str:
        """The variable's name, or the file's base name: what a secret store keys it by (a Kubernetes Secret)."""
        return self.env if self.env is not None else Path(str(self.file)).name

    def __str__(self) -> str:
        # The form backups record as their key reference: where the secret comes from, not what it is.
        return f"env:{self.env}" if self.env is not None else f"file:{self.file}"


def resolve_secret(
    ref: SecretRef,
    *,
    field: str,
    environ: Mapping[str, str] | None = None,
    text: bool = True,
    hint: str = "the secret",
) -> bytes:
    """The bytes of the secret ``ref`` names; raise :class:`ConfigError` naming ``field`` when it is unusable.

    ``environ`` defaults to the process environment (tests and node agents pass their own).
    With ``text`` (the default) trailing line breaks of a file are dropped, as ``echo`` writes
    one; binary secrets (a raw backup key) pass ``text=False``. ``hint`` describes the value in
    the fix (e.g. ``64 hex digits``). An empty secret is refused: it would sign nothing.
    """
    if ref.env is not None:
        env = os.environ if environ is None else environ
        value = env.get(ref.env, "")
        if not value:
            raise ConfigError(
                f"environment variable {ref.env} ({field}) is not set or empty",
                field=field,
                fix=f"export {ref.env}=<{hint}>",
            )
        return value.encode()
    path = Path(str(ref.file))
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        raise ConfigError(
            f"secret file {path} ({field}) does not exist or cannot be read",
            field=field,
            fix=f"write {hint} to {path} and chmod 600 it",
        ) from None
    if mode & 0o077:
        raise ConfigError(
            f"secret file {path} ({field}) is readable by group or others (mode {mode:o})",
            field=field,
            fix=f"chmod 600 {path}",
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read secret file {path} ({field}): {exc.strerror}", field=field, fix=f"check {path}"
        ) from None
    if text:
        raw = raw.rstrip(b"\r\n")
    if not raw:
        raise ConfigError(f"secret file {path} ({field}) is empty", field=field, fix=f"write {hint} to {path}")
    return raw
