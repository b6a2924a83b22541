"""The one error-to-HTTP mapping: each error type's status, the body, and a client rebuilding the error."""

from __future__ import annotations

import pytest

from finpilot.core import (
    STATUS_MEANINGS,
    AuthError,
    BadRequestError,
    CheckFailedError,
    ConfigError,
    ErrorBody,
    FinpilotError,
    InputError,
    IntegrityError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    SensitiveDataError,
    StorageError,
    UnavailableError,
    error_body,
    error_from_body,
    error_headers,
    error_responses,
    http_status,
    validation_error,
)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InputError, 422),
        (ConfigError, 422),
        (SensitiveDataError, 422),
        (BadRequestError, 400),
        (PayloadTooLargeError, 413),
        (AuthError, 401),
        (PermissionDeniedError, 403),
        (NotFoundError, 404),
        (CheckFailedError, 409),
        (IntegrityError, 409),
        (StorageError, 503),
        (UnavailableError, 503),
        (FinpilotError, 500),
    ],
)
def test_each_error_type_has_one_status(error: type[FinpilotError], status: int) -> None:
    assert http_status(error("x")) == status
    assert status == 500 or status in STATUS_MEANINGS


def test_the_body_is_the_declared_error_body() -> None:
    body = error_body(InputError("amount must be positive", field="amount", fix="send a positive amount"))
    assert ErrorBody.model_validate(body).model_dump() == body
    assert body == {
        "error": "InputError",
        "message": "amount must be positive",
        "field": "amount",
        "fix": "send a positive amount",
    }
    assert error_headers(401) == {"WWW-Authenticate": "Bearer"}
    assert error_headers(403) is None
    assert set(error_responses(404, 422)) == {404, 422}
    assert error_responses(404)[404]["model"] is ErrorBody


@pytest.mark.parametrize(
    "raised", [NotFoundError("gone", field="node"), PermissionDeniedError("no"), ConfigError("bad yaml", fix="fix it")]
)
def test_a_client_rebuilds_the_servers_error(raised: FinpilotError) -> None:
    rebuilt = error_from_body(http_status(raised), error_body(raised))
    assert type(rebuilt) is type(raised)
    assert (rebuilt.message, rebuilt.field, rebuilt.fix) == (raised.message, raised.field, raised.fix)


def test_an_unknown_or_missing_body_falls_back_to_the_status() -> None:
    assert type(error_from_body(404, {"error": "Whatever", "message": "m"})) is NotFoundError
    assert type(error_from_body(502, None)) is StorageError
    assert type(error_from_body(418, "not json")) is InputError
    assert "HTTP 502" in error_from_body(502, None).message


def test_validation_problems_name_the_field_and_never_quote_the_input() -> None:
    problem = validation_error([{"type": "missing", "loc": ("body", "node"), "msg": "Field required", "input": "4111"}])
    assert (type(problem), problem.field) == (InputError, "node")
    assert "4111" not in problem.message
    assert type(validation_error([{"type": "json_invalid", "loc": ("body", 1), "msg": "bad"}])) is BadRequestError
    assert validation_error([]).field is None
