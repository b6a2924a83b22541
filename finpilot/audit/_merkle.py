"""RFC 9162 Merkle tree hashing, proofs and their verification. Pure: no I/O.

Leaves hash as ``SHA-256(0x00 || data)`` and interior nodes as ``SHA-256(0x01 || left ||
right)``; the tree over n leaves splits at the largest power of two below n (RFC 9162
section 2.1.1). Proof *generation* here works over any :class:`NodeSource`, which answers
the hash of a perfect (complete, aligned) subtree; the stores answer it from tiles, so
proof cost grows with log n, not n.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """Hash of a leaf's data."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node."""
    return _sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(hashes: Sequence[bytes]) -> bytes:
    """Merkle tree hash of a list of leaf (or equal-level) hashes."""
    n = len(hashes)
    if n == 0:
        return EMPTY_ROOT
    level = list(hashes)
    sha = _sha256
    # Bottom-up pairing gives the RFC's left-heavy shape: an odd node is carried up unchanged.
    while len(level) > 1:
        odd = level[-1] if len(level) % 2 else None
        nxt = [sha(b"\x01" + a + b).digest() for a, b in zip(level[::2], level[1::2], strict=False)]
        if odd is not None:
            nxt.append(odd)
        level = nxt
    return level[0]


class NodeSource(Protocol):
    """Anything that can answer the hash of a perfect subtree."""

    def perfect(self, level: int, index: int) -> bytes:
        """Hash of the node at ``level`` covering leaves ``[index << level, (index + 1) << level)``."""
        ...


def range_hash(src: NodeSource, start: int, end: int) -> bytes:
    """MTH of leaves ``[start, end)`` where ``start`` is aligned as the RFC recursion makes it."""
    size = end - start
    if size <= 0:
        raise ValueError("empty range")
    if size & (size - 1) == 0 and start % size == 0:
        level = size.bit_length() - 1
        return src.perfect(level, start >> level)
    k = split_point(size)
    return node_hash(range_hash(src, start, start + k), range_hash(src, start + k, end))


def inclusion_path(src: NodeSource, index: int, size: int) -> list[bytes]:
    """RFC 9162 section 2.1.3.1 PATH(index, D[0:size]), leaf-to-root order."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a tree of size {size}")
    path: list[bytes] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = split_point(end - start)
        if m < k:
            path.append(range_hash(src, start + k, end))
            end = start + k
        else:
            path.append(range_hash(src, start, start + k))
            start += k
            m -= k
    path.reverse()
    return path


def consistency_path(src: NodeSource, old: int, new: int) -> list[bytes]:
    """RFC 9162 section 2.1.4.1 PROOF(old, D[0:new])."""
    if not 0 < old <= new:
        raise ValueError(f"need 0 < old <= new, got old={old} new={new}")
    if old == new:
        return []
    out: list[bytes] = []
    start, end, m, whole = 0, new, old, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                out.append(range_hash(src, start, end))
            break
        k = split_point(n)
        if m <= k:
            out.append(range_hash(src, start + k, end))
            end = start + k
        else:
            out.append(range_hash(src, start, start + k))
            start += k
            m -= k
            whole = False
    out.reverse()
    return out


def verify_inclusion(leaf: bytes, index: int, size: int, path: Iterable[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2: does ``path`` prove ``leaf`` at ``index`` in a tree with ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]) -> bool:
    """RFC 9162 section 2.1.4.2: is the tree of size ``new`` an append-only extension of ``old``?"""
    if old == new:
        return old_root == new_root and not path
    if not 0 < old < new or not path:
        return False
    proof = list(path)
    if old & (old - 1) == 0:  # old is a power of two: its root is the first proof node
        proof.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
