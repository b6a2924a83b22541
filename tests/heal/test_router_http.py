"""The router's HTTP/1.1 framing on its own: parsing, forwarding rules and chunked bodies."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finpilot.heal._router._http import HOP_BY_HOP, HttpError, forward_fields, iter_chunked, parse_head, read_body

TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-!#$%&'*+.^_`|~", min_size=1, max_size=20
)
VALUE = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40)


def _reader(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=64 * 1024)
    reader.feed_data(data)
    reader.feed_eof()
    return reader


@given(fields=st.lists(st.tuples(TOKEN, VALUE), max_size=12))
def test_fields_round_trip_and_hop_by_hop_never_forwarded(fields: list[tuple[str, str]]) -> None:
    fields = [(k, v) for k, v in fields if k.lower() not in {"content-length", "transfer-encoding", "connection"}]
    raw = "GET /x HTTP/1.1\r\n" + "".join(f"{k}:  {v} \r\n" for k, v in fields) + "\r\n"
    head = parse_head(raw.encode(), request=True)
    assert head.fields == [(k.lower().encode(), v.encode()) for k, v in fields]
    forwarded = forward_fields(head)
    assert forwarded == [f"{k.lower()}: {v}".encode() for k, v in fields if k.lower().encode() not in HOP_BY_HOP]


def test_connection_named_fields_are_dropped() -> None:
    raw = b"GET / HTTP/1.1\r\nConnection: X-Hop, close\r\nX-Hop: 1\r\nX-End: 2\r\n\r\n"
    head = parse_head(raw, request=True)
    assert forward_fields(head) == [b"x-end: 2"]
    assert not head.keep_alive()
    assert parse_head(b"GET / HTTP/1.0\r\n\r\n", request=True).keep_alive() is False
    assert parse_head(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", request=True).keep_alive() is True


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"G(T / HTTP/1.1\r\n\r\n", 400),
    ],
)
def test_ambiguous_requests_are_refused(raw: bytes, status: int) -> None:
    with pytest.raises(HttpError) as caught:
        parse_head(raw, request=True)
    assert caught.value.status == status


def test_repeated_equal_content_length_is_accepted() -> None:
    assert parse_head(b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", request=True).length == 5


@given(chunks=st.lists(st.binary(min_size=1, max_size=3000), max_size=8), limit=st.integers(0, 20_000))
def test_chunked_bodies_decode_exactly_and_respect_the_limit(chunks: list[bytes], limit: int) -> None:
    encoded = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\nTrailer: x\r\n\r\nNEXT"
    head = parse_head(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", request=True)

    async def decode() -> tuple[bytes, bytes]:
        reader = _reader(encoded)
        body = await read_body(reader, head, limit)
        return body, await reader.read()

    total = sum(map(len, chunks))
    if total > limit:
        with pytest.raises(HttpError) as caught:
            asyncio.run(decode())
        assert caught.value.status == 413
    else:
        body, rest = asyncio.run(decode())
        assert body == b"".join(chunks)
        assert rest == b"NEXT"  # the next pipelined message is left untouched


def test_malformed_chunk_size_is_refused() -> None:
    async def decode() -> list[bytes]:
        return [c async for c in iter_chunked(_reader(b"zz\r\nabc\r\n0\r\n\r\n"))]

    with pytest.raises(HttpError):
        asyncio.run(decode())
