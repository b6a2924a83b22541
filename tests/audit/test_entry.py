"""Entries: validation, refusal of card numbers and API tokens, and the hand-built canonical leaf."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from finpilot.audit import Entry
from finpilot.audit._entry import commitment, prepare
from finpilot.audit._pan import contains_pan, luhn_ok
from finpilot.core import InputError, SensitiveDataError, rfc3339

NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
TEXT_FIELDS = ("kind", "actor", "action", "subject", "outcome")
LIMIT = 65536


def entry(**overrides: Any) -> Entry:
    fields: dict[str, Any] = {
        "kind": "custom.deploy",
        "actor": "pipeline:main",
        "action": "promote",
        "subject": "service:payments@1.4.2",
        "outcome": "ok",
    }
    fields.update(overrides)
    return Entry(**fields)


def luhn_check_digit(body: str) -> str:
    # Written independently of finpilot's luhn_ok: double every second digit from the right,
    # counting the check digit that will be appended as position 0.
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return str((10 - total % 10) % 10)


@st.composite
def pan_numbers(draw: st.DrawFn) -> str:
    length = draw(st.integers(13, 19))
    first = draw(st.sampled_from("23456"))
    middle = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=length - 2, max_size=length - 2)))
    return first + middle + luhn_check_digit(first + middle)


@st.composite
def grouped(draw: st.DrawFn, number: str) -> str:
    style = draw(st.sampled_from(["plain", "fours", "random"]))
    if style == "plain":
        return number
    sep = draw(st.sampled_from([" ", "-"]))
    if style == "fours":
        return sep.join(number[i : i + 4] for i in range(0, len(number), 4))
    out = number[0]
    for ch in number[1:]:
        if draw(st.booleans()):
            out += draw(st.sampled_from([" ", "-"]))
        out += ch
    return out


@st.composite
def grouped_pans(draw: st.DrawFn) -> tuple[str, str]:
    number = draw(pan_numbers())
    return number, draw(grouped(number))


# Text around a PAN: anything, closed off from the number by any non-digit: a group separator
# (the scan tries every window of whole digit groups) or a control character (its JSON escape
# must not glue digits together) included. Only a digit right beside it may hide it: a run of
# more than 19 digits without separators is an identifier, not a card.
DELIMS = [
    "x",
    ":",
    "(",
    ")",
    "=",
    "#",
    "é",
    "\U0001f4b3",
    '"',
    "\\",
    "/",
    "card ",
    " ",
    "-",
    "\x10",
    "\n",
    "\t",
    "\x01",
]
surround = st.tuples(st.text(max_size=20), st.sampled_from(DELIMS), st.sampled_from(DELIMS), st.text(max_size=20))


def embed(pan: str, around: tuple[str, str, str, str]) -> str:
    before, d1, d2, after = around
    if d1.endswith(" "):
        d1 = "x" + d1  # "card " must not follow a digit group
    return before + d1 + pan + d2 + after


@st.composite
def nested(draw: st.DrawFn, leaf: str) -> Any:
    # Put ``leaf`` somewhere inside a nest of objects and arrays, beside innocent values.
    value: Any = leaf
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            key = draw(st.text(max_size=8))
            value = {key: value, key + "_other": draw(st.integers(0, 999))}
        else:
            value = [draw(st.text(max_size=5)), value, None]
    return value


def _assert_refused_without_number(exc: SensitiveDataError, number: str, shown: str, field: str) -> None:
    assert exc.field == field
    assert f"'{field}'" in exc.message
    text = json.dumps(exc.to_dict()) + str(exc)
    assert number not in text
    assert shown not in text
    assert number[-8:] not in text


# ---------------------------------------------------------------- PANs
def test_reference_luhn() -> None:
    assert luhn_ok("4111111111111111")
    assert luhn_check_digit("411111111111111") == "1"
    assert luhn_check_digit("7992739871") == "3"  # the Wikipedia example 79927398713
    assert not luhn_ok("4111111111111112")


@given(grouped_pans(), surround, st.sampled_from(TEXT_FIELDS))
@settings(max_examples=200, deadline=None)
def test_pan_in_text_field_is_refused(pan: tuple[str, str], around: tuple[str, str, str, str], field: str) -> None:
    number, shown = pan
    value = embed(shown, around)[:512]
    assume(shown in value)
    with pytest.raises(SensitiveDataError) as info:
        prepare(entry(**{field: value}), NOW, LIMIT)
    _assert_refused_without_number(info.value, number, shown, field)


@given(grouped_pans(), surround, st.data())
@settings(max_examples=200, deadline=None)
def test_pan_in_evidence_is_refused(
    pan: tuple[str, str], around: tuple[str, str, str, str], data: st.DataObject
) -> None:
    number, shown = pan
    value = data.draw(nested(embed(shown, around)), label="value")
    evidence = {"ticket": "CHG-1", "detail": value}
    with pytest.raises(SensitiveDataError) as info:
        prepare(entry(evidence=evidence), NOW, LIMIT)
    _assert_refused_without_number(info.value, number, shown, "evidence")


@given(grouped_pans(), surround, st.data())
@settings(max_examples=200, deadline=None)
def test_pan_in_personal_data_is_refused(
    pan: tuple[str, str], around: tuple[str, str, str, str], data: st.DataObject
) -> None:
    number, shown = pan
    value = data.draw(nested(embed(shown, around)), label="value")
    with pytest.raises(SensitiveDataError) as info:
        prepare(entry(personal={"name": "Ada", "note": value}, data_subject="customer:1"), NOW, LIMIT)
    _assert_refused_without_number(info.value, number, shown, "personal")


@given(pan_numbers())
@settings(max_examples=50, deadline=None)
def test_pan_as_json_number_is_refused(number: str) -> None:
    assume(int(number) <= 2**53 - 1)
    with pytest.raises(SensitiveDataError) as info:
        prepare(entry(evidence={"card": int(number)}), NOW, LIMIT)
    assert info.value.field == "evidence"


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111111",
        "card 4111 1111 1111 1111 exp 12/27",
        "4111-1111-1111-1111",
        "pan=5500005555555559;",
        "amex 378282246310005",
        "3530111333300000 jcb",
        "6011111111111117",
        "2223003122003222",  # Mastercard 2-series
        "4111111111111111 2027 1",
        "1111111111111117",  # any first digit: networks and test cards change, the rule does not
        "9111111111111110",
        "4111 1111 1111 1111 2027",
    ],
)
def test_known_test_pans_are_refused(text: str) -> None:
    with pytest.raises(SensitiveDataError):
        prepare(entry(subject=text), NOW, LIMIT)


@pytest.mark.parametrize(
    "text", ["2024 4111 1111 1111 1111", "2027-4111-1111-1111-1111", "tx 30240 4111 1111 1111 1111"]
)
def test_pan_after_a_digit_group_is_refused(text: str) -> None:
    """Regression: every window of whole digit groups is tried, so digit groups before a grouped
    PAN that push the run past 19 digits do not hide it."""
    with pytest.raises(SensitiveDataError) as info:
        prepare(entry(subject=text), NOW, LIMIT)
    _assert_refused_without_number(info.value, "4111111111111111", text[-19:], "subject")


@pytest.mark.parametrize("prefix", ["\x10", "\x01", "x\x19", "7\x10", "\n", "12\t"])
def test_pan_after_a_control_character_is_refused(prefix: str) -> None:
    """Regression: a control character's JSON escape (\\u0010, \\n, ...) does not glue its hex
    digits, or digits before it, to the PAN that follows."""
    for where in ("subject", "evidence"):
        e = (
            entry(subject=prefix + "4111111111111111")
            if where == "subject"
            else entry(evidence={"v": prefix + "4111111111111111"})
        )
        with pytest.raises(SensitiveDataError) as info:
            prepare(e, NOW, LIMIT)
        assert info.value.field == where
    with pytest.raises(SensitiveDataError) as info:
        prepare(entry(personal={"v": prefix + "4111111111111111"}, data_subject="customer:1"), NOW, LIMIT)
    assert info.value.field == "personal"


def test_pan_in_data_subject_names_the_field() -> None:
    """Regression: a PAN in data_subject is refused naming 'data_subject' (not 'entry'), without
    echoing the number."""
    with pytest.raises(SensitiveDataError) as info:
        prepare(entry(personal={"name": "Ada"}, data_subject="card:4111111111111111"), NOW, LIMIT)
    _assert_refused_without_number(info.value, "4111111111111111", "4111111111111111", "data_subject")


@pytest.mark.parametrize(
    "text",
    [
        "411111******1111",
        "card ending 1111",
        "**** **** **** 1111",
        "4111-11XX-XXXX-1111",
        "411111...1111",
        "4111111111111112",  # fails Luhn
        "41111111111111111111111",  # 23 digits: longer than any PAN
        "order 12345 at 2026-01-02",
        "4111 1111",
    ],
)
def test_masked_and_non_pan_numbers_are_accepted(text: str) -> None:
    prepared = prepare(entry(subject=text, evidence={"masked": text}), NOW, LIMIT)
    assert text.encode() in prepared.data


@given(st.integers(13, 19), st.data(), surround)
@settings(max_examples=200, deadline=None)
def test_non_luhn_digit_strings_are_accepted(length: int, data: st.DataObject, around: tuple[str, ...]) -> None:
    body = "".join(data.draw(st.lists(st.sampled_from("0123456789"), min_size=length - 1, max_size=length - 1)))
    good = luhn_check_digit(body)
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != good]), label="check digit")
    number = body + wrong
    before, _, _, after = around
    # Keep other digits out of the surrounding text so that only this number is judged.
    text = (
        "".join(c for c in before if not c.isdigit())
        + "x"
        + number
        + "x"
        + "".join(c for c in after if not c.isdigit())
    )
    assert not luhn_ok(number)
    prepared = prepare(entry(subject=text[:512], evidence={"n": text}), NOW, LIMIT)
    assert number.encode() in prepared.data


TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
tokens = st.text(alphabet=TOKEN_CHARS, min_size=30, max_size=30).map(lambda s: "fp_0123abcd_" + s)


@given(tokens, st.sampled_from([*TEXT_FIELDS, "evidence", "personal"]), st.text(max_size=10), st.data())
@settings(max_examples=150, deadline=None)
def test_api_tokens_are_refused(token: str, where: str, before: str, data: st.DataObject) -> None:
    value = before + token
    if where == "evidence":
        e = entry(evidence={"auth": data.draw(nested(value), label="nested")})
    elif where == "personal":
        e = entry(personal={"auth": data.draw(nested(value), label="nested")}, data_subject="customer:9")
    else:
        e = entry(**{where: value})
    with pytest.raises(SensitiveDataError) as info:
        prepare(e, NOW, LIMIT)
    assert info.value.field == where
    text = json.dumps(info.value.to_dict()) + str(info.value)
    assert token not in text
    assert token[12:] not in text
    assert "token" in info.value.message


@pytest.mark.parametrize("text", ["fp_0123abcd_short", "fp_0123ABCD_" + "a" * 30, "token id fp_0123abcd", "fp_"])
def test_token_lookalikes_are_accepted(text: str) -> None:
    # Accepted means recorded as given: the lookalike is in the leaf, not masked or dropped.
    prepared = prepare(entry(subject=text), NOW, LIMIT)
    assert json.loads(prepared.data)["subject"] == text


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("value", ["", "   ", "\n\t", None, 123, ["x"], "x" * 513])
def test_bad_text_fields_name_the_field(field: str, value: Any) -> None:
    with pytest.raises(InputError) as info:
        prepare(entry(**{field: value}), NOW, LIMIT)
    assert not isinstance(info.value, SensitiveDataError)
    assert info.value.field == field
    assert field in info.value.message


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_text_field_limits(field: str) -> None:
    # 512 characters (not bytes) is the limit, and text is kept verbatim, blanks included.
    for value in ("x" * 512, " padded ", "\U0001f600" * 512):
        prepared = prepare(entry(**{field: value}), NOW, LIMIT)
        assert json.loads(prepared.data)[field] == value
    with pytest.raises(InputError) as info:
        prepare(entry(**{field: "\U0001f600" * 513}), NOW, LIMIT)
    assert info.value.field == field


@pytest.mark.parametrize("evidence", [[1, 2], "text", 5, None, ("a", 1)])
def test_evidence_must_be_an_object(evidence: Any) -> None:
    with pytest.raises(InputError) as info:
        prepare(entry(evidence=evidence), NOW, LIMIT)
    assert info.value.field == "evidence"


@pytest.mark.parametrize(
    ("evidence", "field"),
    [
        ({"score": float("nan")}, "evidence.score"),
        ({"a": [1, float("inf")]}, "evidence.a[1]"),
        ({"n": 2**60}, "evidence.n"),
        ({"b": b"bytes"}, "evidence.b"),
    ],
)
def test_bad_evidence_values_name_the_path(evidence: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as info:
        prepare(entry(evidence=evidence), NOW, LIMIT)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("personal", "data_subject", "field"),
    [
        ({"name": "Ada"}, None, "data_subject"),
        ({"name": "Ada"}, "", "data_subject"),
        ({"name": "Ada"}, "   ", "data_subject"),
        ({"name": "Ada"}, 7, "data_subject"),
        (None, "customer:1", "personal"),
        ({}, "customer:1", "personal"),
        (["Ada"], "customer:1", "personal"),
        ("Ada", "customer:1", "personal"),
    ],
)
def test_personal_data_needs_a_subject(personal: Any, data_subject: Any, field: str) -> None:
    with pytest.raises(InputError) as info:
        prepare(entry(personal=personal, data_subject=data_subject), NOW, LIMIT)
    assert info.value.field == field


def test_lone_surrogates_are_input_errors() -> None:
    for e in (entry(subject="\ud800"), entry(evidence={"a": "\udfff"}), entry(evidence={"k": ["\ud800"]})):
        with pytest.raises(InputError):
            prepare(e, NOW, LIMIT)
    with pytest.raises(InputError):
        prepare(entry(personal={"a": "\ud800"}, data_subject="s"), NOW, LIMIT)


@pytest.mark.parametrize("where", ["evidence", "personal"])
def test_lone_surrogate_key_is_an_input_error(where: str) -> None:
    """Regression: a lone-surrogate object key is an InputError naming the path, not a
    UnicodeEncodeError escaping from the key sort."""
    e = entry(**{where: {"ok": {"\ud800": "x"}}, "data_subject": "s" if where == "personal" else None})
    with pytest.raises(InputError) as info:
        prepare(e, NOW, LIMIT)
    assert not isinstance(info.value, SensitiveDataError)
    assert info.value.field is not None
    assert info.value.field.startswith(where)
    assert info.value.field.endswith(".ok")
    assert info.value.field in info.value.message


@pytest.mark.parametrize(
    "personal", [{"score": float("nan")}, {"score": {"\ud800": 1}}, {"score": 2**60}], ids=["nan", "key", "int"]
)
def test_bad_personal_values_name_the_path(personal: dict[str, Any]) -> None:
    with pytest.raises(InputError) as info:
        prepare(entry(personal=personal, data_subject="customer:1"), NOW, LIMIT)
    assert info.value.field == "personal.score"


def test_oversized_entry_is_refused() -> None:
    with pytest.raises(InputError) as info:
        prepare(entry(evidence={"blob": "x" * 1000}), NOW, 900)
    assert info.value.field == "evidence"
    prepared = prepare(entry(evidence={"blob": "x" * 100}), NOW, 900)
    assert len(prepared.data) <= 900


def test_from_json_names_the_field() -> None:
    good = {"kind": "custom.k", "actor": "a", "action": "x", "subject": "s", "outcome": "ok"}
    assert Entry.from_json(good) == Entry(**good)
    cases: list[tuple[Any, str]] = [
        ([], "$"),
        ("entry", "$"),
        ({**good, "colour": "red"}, "colour"),
        ({**good, "time": "2026-01-01T00:00:00Z"}, "time"),
    ]
    cases += [({k: v for k, v in good.items() if k != name}, name) for name in TEXT_FIELDS]
    for obj, field in cases:
        with pytest.raises(InputError) as info:
            Entry.from_json(obj)
        assert info.value.field == field, obj
    full = Entry.from_json({**good, "evidence": {"n": 1}, "personal": {"p": 1}, "data_subject": "d"})
    assert full.evidence == {"n": 1}
    assert full.personal == {"p": 1}
    assert full.data_subject == "d"


# ---------------------------------------------------------------- canonical leaf
texts = st.text(max_size=30)
# ASCII keys keep values on the fast (orjson) path; other keys send them down the slow one.
keys = st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=8) | texts
field_text = st.text(min_size=1, max_size=40).filter(lambda s: bool(s.strip()))
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**53) + 1, 2**53 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        texts,
    ),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=15,
)
entries = st.builds(
    Entry,
    kind=field_text.filter(lambda s: not s.startswith("audit.")),  # reserved for the ledger
    actor=field_text,
    action=field_text,
    subject=field_text,
    outcome=field_text,
    evidence=st.dictionaries(keys, json_values, max_size=5),
    time=st.none() | st.datetimes(timezones=st.just(UTC)),
    personal=st.none() | st.dictionaries(keys, json_values, min_size=1, max_size=3),
    data_subject=field_text,
)


def jcs_loads(data: bytes) -> Any:
    """Parse JCS as a JCS reader would: every number is a double, so an integer beyond 2^53
    (which only an integral float can print as) is read back as a float."""
    return json.loads(data, parse_int=lambda t: int(t) if abs(int(t)) < 2**53 else float(t))


@given(entries)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@example(
    Entry(
        "k",
        "a",
        "x",
        "s",
        "ok",
        evidence={"b": 1, "a": {"d": [2.5, {"f": 0, "e": 1}], "c": 3}, "é": 1.0, "\U0001f600": 1, "\uffff": 2},
        personal={"z": 1, "y": {"x": 2, "w": 3}},
        data_subject="d",
    )
)
@example(Entry("k", "a", "x", "s", "ok", evidence={"z": None, "a": '\u0000\u2028"\\'}))
def test_leaf_is_canonical_and_complete(e: Entry) -> None:
    if e.personal is None:
        e = Entry(e.kind, e.actor, e.action, e.subject, e.outcome, e.evidence, e.time)
    try:
        prepared = prepare(e, NOW, 1 << 20)
    except SensitiveDataError:
        # Generated text may hold a card number or a token; skip only when the caller's own
        # content does. A refusal caused by anything finpilot added (time, commitment) is a bug.
        caller = rfc8785.dumps(
            {
                **{name: getattr(e, name) for name in TEXT_FIELDS},
                "evidence": e.evidence,
                "personal": e.personal,
                "data_subject": e.data_subject if e.personal is not None else None,
            }
        )
        assume(not (contains_pan(caller) or re.search(rb"fp_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}", caller)))
        raise
    leaf = prepared.data
    fields = jcs_loads(leaf)
    assert rfc8785.dumps(fields) == leaf
    assert prepared.hash == hashlib.sha256(b"\x00" + leaf).digest()
    assert fields["v"] == 1
    assert fields["time"] == rfc3339(e.time or NOW)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", fields["time"])
    assert datetime.fromisoformat(fields["time"].replace("Z", "+00:00")) == (e.time or NOW)
    for name in TEXT_FIELDS:
        assert fields[name] == getattr(e, name)
    assert fields["evidence"] == jcs_loads(rfc8785.dumps(e.evidence))
    assert set(fields) == {*TEXT_FIELDS, "evidence", "personal", "time", "v"}
    if e.personal is None:
        assert fields["personal"] is None
        assert prepared.personal is None
    else:
        row = prepared.personal
        assert row is not None
        assert row.data_subject == e.data_subject
        assert len(row.salt) == 32
        assert row.payload == rfc8785.dumps({"data_subject": e.data_subject, "personal": e.personal})
        assert fields["personal"] == commitment(row.salt, row.payload)
        assert fields["personal"] == hashlib.sha256(b"finpilot/personal/v1\x00" + row.salt + row.payload).hexdigest()
        # Personal data stays out of the leaf; only the commitment is there.
        assert row.payload not in leaf


def test_time_may_be_preformatted_and_entries_salt_afresh() -> None:
    e = entry(personal={"name": "Ada"}, data_subject="customer:1")
    a = prepare(e, "2026-01-01T00:00:00.000000Z", LIMIT)
    b = prepare(e, "2026-01-01T00:00:00.000000Z", LIMIT)
    assert json.loads(a.data)["time"] == "2026-01-01T00:00:00.000000Z"
    assert a.personal is not None
    assert b.personal is not None
    assert a.personal.salt != b.personal.salt
    assert a.data != b.data
    # Apart from its random commitment (which may look like anything), the leaf holds no PAN.
    blanked = a.data.replace(json.loads(a.data)["personal"].encode(), b"")
    assert not contains_pan(blanked)


def test_commitment_is_not_mistaken_for_a_pan() -> None:
    """Regression: a hex commitment once held a Luhn-valid digit run (about 1 salt in 300) and the
    entry was refused. A digest-length hex token is never taken for a card number now."""
    e = entry(personal={"name": "Ada"}, data_subject="customer:1")
    payload = rfc8785.dumps({"data_subject": "customer:1", "personal": {"name": "Ada"}})
    hits = [
        i for i in range(3000) if contains_pan(commitment(hashlib.sha256(b"salt%d" % i).digest(), payload).encode())
    ]
    assert hits == []
    prepared = prepare(e, NOW, LIMIT)
    assert prepared.personal is not None
    assert json.loads(prepared.data)["personal"] == commitment(prepared.personal.salt, payload)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_float_evidence_is_never_taken_for_a_card_number(value: float) -> None:
    """The fraction digits of a float (0.41111111111111115) once tripped the PAN scan. (Integer
    parts of 13+ digits are still refused when they pass Luhn, so the range stops below that.)"""
    prepared = prepare(entry(evidence={"score": value, "scores": [value / 3, value / 7]}), NOW, LIMIT)
    assert prepared.data


def test_fraction_digits_are_not_a_pan_but_the_integer_part_is() -> None:
    assert not contains_pan(b'{"score":0.4111111111111111}')
    assert contains_pan(b'{"n":4111111111111111}')
    assert contains_pan(b'{"n":4111111111111111.5}')


@given(st.binary(min_size=32, max_size=32))
@settings(max_examples=300)
def test_hex_digests_are_never_taken_for_a_card_number(raw: bytes) -> None:
    """A SHA-256 in hex holds a Luhn-valid 13-19 digit run about once in 400; it is a digest, not a PAN."""
    digest = raw.hex()
    assume(any(c in "abcdef" for c in digest))
    assert not contains_pan(json.dumps({"sha256": digest}).encode())


def test_a_card_number_beside_a_short_hex_token_or_a_non_hex_word_is_still_refused() -> None:
    # Only a whole hex token of a digest's length, with letters and other digits beside the run, is exempt.
    assert contains_pan(b"deadbeef4111111111111111")
    assert contains_pan(b"pan4111111111111111")
    assert contains_pan(b"x" * 40 + b"4111111111111111")
    assert contains_pan(b"ab" * 8 + b"4111111111111111")  # 32 characters, but no other digit
    assert contains_pan(b"ab" * 7 + b"4111111111111111")
    assert not contains_pan(b"1a" * 8 + b"4111111111111111")
    assert contains_pan(b"x" + b"1a" * 8 + b"4111111111111111")  # not a whole token
    assert contains_pan(b"1A" * 4 + b"1a" * 4 + b"4111111111111111")  # two letter cases
