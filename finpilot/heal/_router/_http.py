"""HTTP/1.1 message framing for the router (RFC 9112), over asyncio streams.

A deliberately small parser rather than h11: the router only needs the start line, the header
fields that decide framing and forwarding, and body framing (Content-Length, chunked, or
close-delimited). h11's per-event state machine costs tens of microseconds per message in pure
Python, which is most of the router's 1 ms budget; this module does one ``readuntil`` for the head
and one ``split`` for the fields. It is strict where leniency enables request smuggling: obs-fold,
whitespace before the colon, conflicting Content-Length values, and Transfer-Encoding together
with Content-Length are all rejected.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

MAX_HEAD = 64 * 1024
READ_CHUNK = 64 * 1024

# RFC 9110 section 7.6.1: fields meaningful for one connection only, never forwarded; plus the
# fields a Connection header names, and the old non-standard names proxies are expected to drop.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authorization",
    }
)
_TOKEN_BAD = frozenset(b' \t\r\n"(),/:;<=>?@[\\]{}')


class HttpError(Exception):
    """A message the router refuses; ``status`` is what the client is told."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(slots=True)
class Head:
    """A parsed request or response head. ``fields`` keeps (lower-case name, value) pairs in order."""

    first: tuple[bytes, bytes, bytes]
    fields: list[tuple[bytes, bytes]]
    http10: bool
    connection: frozenset[bytes]
    length: int | None  # Content-Length; None when absent
    chunked: bool

    def get(self, name: bytes) -> bytes | None:
        """The first value of ``name`` (lower-case), or None."""
        for key, value in self.fields:
            if key == name:
                return value
        return None

    def keep_alive(self) -> bool:
        """Whether the sender allows the connection to be reused after this message (RFC 9112 9.3)."""
        if b"close" in self.connection:
            return False
        return not self.http10 or b"keep-alive" in self.connection


async def read_head(reader: asyncio.StreamReader) -> bytes | None:
    """The raw head up to the blank line, or None on a clean end of stream before any byte."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise HttpError(400, "incomplete message head") from None
    except asyncio.LimitOverrunError:
        raise HttpError(431, "message head too large") from None


def parse_head(raw: bytes, *, request: bool) -> Head:
    """Parse a head read by ``read_head``; raise HttpError(400) for anything ambiguous."""
    lines = raw[:-4].split(b"\r\n")
    while lines and not lines[0]:  # RFC 9112 2.2: a server should ignore leading empty lines
        del lines[0]
    if not lines:
        raise HttpError(400, "empty message head")
    parts = lines[0].split(b" ", 2)
    if len(parts) != 3:
        raise HttpError(400, "malformed start line")
    version = parts[0] if not request else parts[2]
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise HttpError(505 if request else 502, "unsupported HTTP version")
    if request and (not parts[0] or any(c in _TOKEN_BAD for c in parts[0]) or not parts[1]):
        raise HttpError(400, "malformed request line")
    if not request and not (len(parts[1]) == 3 and parts[1].isdigit()):
        raise HttpError(502, "malformed status line")
    fields: list[tuple[bytes, bytes]] = []
    connection: set[bytes] = set()
    length: int | None = None
    encodings: list[bytes] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name[-1:] in (b" ", b"\t") or line[:1] in (b" ", b"\t"):
            raise HttpError(400, "malformed header field")
        key = name.lower()
        value = value.strip(b" \t")
        if key == b"content-length":
            for raw_item in value.split(b","):
                item = raw_item.strip()
                if not item.isdigit() or (length is not None and int(item) != length):
                    raise HttpError(400, "invalid Content-Length")
                length = int(item)
        elif key == b"transfer-encoding":
            encodings += [e.strip().lower() for e in value.split(b",") if e.strip()]
        elif key == b"connection":
            connection.update(t.strip().lower() for t in value.split(b",") if t.strip())
        fields.append((key, value))
    chunked = False
    if encodings:
        if length is not None:
            raise HttpError(400, "both Transfer-Encoding and Content-Length")
        if encodings[-1] != b"chunked":
            raise HttpError(400 if request else 502, "unsupported Transfer-Encoding")
        chunked = True
    return Head(
        (parts[0], parts[1], parts[2]),
        fields,
        version == b"HTTP/1.0",
        frozenset(connection),
        length,
        chunked,
    )


def forward_fields(head: Head, drop: frozenset[bytes] = frozenset()) -> list[bytes]:
    """Header lines to forward: end-to-end fields only, minus ``drop`` (lower-case names)."""
    skip = HOP_BY_HOP | head.connection | drop if drop or not head.connection <= HOP_BY_HOP else HOP_BY_HOP
    return [k + b": " + v for k, v in head.fields if k not in skip]


async def iter_chunked(reader: asyncio.StreamReader, limit: int | None = None) -> AsyncIterator[bytes]:
    """The data of a chunked body, chunk by chunk; trailers are read and dropped (RFC 9112 7.1.3)."""
    total = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HttpError(400, "malformed chunk size") from None
        if size < 0 or not size_text or len(size_text) > 16:
            raise HttpError(400, "malformed chunk size")
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return
        total += size
        if limit is not None and total > limit:
            raise HttpError(413, "request body too large")
        while size:
            data = await reader.read(min(size, READ_CHUNK))
            if not data:
                raise asyncio.IncompleteReadError(b"", size)
            size -= len(data)
            yield data
        if await reader.readexactly(2) != b"\r\n":
            raise HttpError(400, "malformed chunk")


async def read_body(reader: asyncio.StreamReader, head: Head, limit: int) -> bytes:
    """A whole request body, refused with 413 beyond ``limit`` bytes (before reading it when it is announced)."""
    if head.chunked:
        return b"".join([part async for part in iter_chunked(reader, limit)])
    if not head.length:
        return b""
    if head.length > limit:
        raise HttpError(413, "request body too large")
    return await reader.readexactly(head.length)
