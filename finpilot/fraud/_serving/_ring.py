"""A consistent-hash ring: which of N scorer processes owns a customer.

Each member gets :data:`VNODES` points on a 64-bit ring, each the BLAKE2b hash of
``"scorer-<i>#<v>"``; a customer belongs to the first point at or after the BLAKE2b hash of its
id. BLAKE2b rather than Python's ``hash`` because the router and every scorer (separate
processes, ``PYTHONHASHSEED`` differing) must agree, today and after an upgrade. With 64 points a
member, 4 members each get 25 % +- a few points of the customers, and going from N to N+1 moves
only about 1/(N+1) of them.
"""

from __future__ import annotations

import bisect
import hashlib

from finpilot.core import InputError

VNODES = 64
"""Points per member on the ring."""
MAX_MEMBERS = 64
"""More scorer processes than this would only fight over the cores."""


def ring_hash(key: bytes) -> int:
    """The stable 64-bit position of ``key`` on the ring."""
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")


class HashRing:
    """``members`` scorers (0 .. members-1) on a ring of :data:`VNODES` points each."""

    def __init__(self, members: int, *, vnodes: int = VNODES) -> None:
        if isinstance(members, bool) or not isinstance(members, int) or not 1 <= members <= MAX_MEMBERS:
            raise InputError(
                f"the number of scorers must be between 1 and {MAX_MEMBERS}",
                field="fraud.scorers",
                fix="set fraud.scorers to a small whole number, such as the machine's cores",
            )
        self.members = members
        points = sorted((ring_hash(f"scorer-{m}#{v}".encode()), m) for m in range(members) for v in range(vnodes))
        self._keys = [key for key, _ in points]
        self._owners = [owner for _, owner in points]

    def owner_of_bytes(self, key: bytes) -> int:
        """The member owning the raw key (the router hashes the customer id's UTF-8 bytes)."""
        if self.members == 1:
            return 0
        at = bisect.bisect_left(self._keys, ring_hash(key))
        return self._owners[at if at < len(self._keys) else 0]

    def owner(self, customer_id: str) -> int:
        """The member owning ``customer_id``."""
        return self.owner_of_bytes(customer_id.encode("utf-8", "surrogatepass"))
