"""The one webhook signer: a known HMAC-SHA256 vector, the two implementations it replaced, and signed JSON."""

from __future__ import annotations

import hashlib
import hmac
import json

from hypothesis import given
from hypothesis import strategies as st

from finpilot.core import SIGNATURE_HEADER, signed_json, webhook_signature, webhook_signature_ok


def old_fraud_webhook_signature(secret: bytes, body: bytes) -> str:
    # finpilot/fraud/_webhook.py before the signer moved to core.
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def old_runbook_page_signature(secret: bytes, body: bytes) -> str:
    # finpilot/heal/_runbook/_page.py before the signer moved to core.
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def test_rfc_4231_test_case_2() -> None:
    signature = webhook_signature(b"Jefe", b"what do ya want for nothing?")
    assert signature == "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


@given(st.binary(min_size=1, max_size=80), st.binary(max_size=400))
def test_the_signature_is_what_both_old_signers_sent(secret: bytes, body: bytes) -> None:
    signature = webhook_signature(secret, body)
    assert signature == old_fraud_webhook_signature(secret, body) == old_runbook_page_signature(secret, body)
    assert webhook_signature_ok(secret, body, signature)
    assert not webhook_signature_ok(secret, body + b"x", signature)
    assert not webhook_signature_ok(secret + b"x", body, signature)


def test_signed_json_is_compact_sorted_and_signed_under_the_one_header() -> None:
    body, headers = signed_json(b"s3cret", {"b": 1, "a": [1, 2], "when": 1.5})
    assert body == b'{"a":[1,2],"b":1,"when":1.5}'
    assert json.loads(body) == {"a": [1, 2], "b": 1, "when": 1.5}
    assert headers == {"Content-Type": "application/json", SIGNATURE_HEADER: webhook_signature(b"s3cret", body)}
    assert SIGNATURE_HEADER == "X-Finpilot-Signature"
    assert b"s3cret" not in body
