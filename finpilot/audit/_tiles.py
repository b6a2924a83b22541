"""Tiles: how the tree is stored so that proofs cost O(log n) reads.

Following C2SP tlog-tiles, a tile at tile-level L and index t holds up to 256 consecutive
node hashes of tree level 8L (level-0 tiles hold the leaf hashes). Nodes between tile
levels are recomputed from one tile, at most 255 hashes, and complete tiles are immutable,
so they are cached. :class:`TreeState` is the writer's in-memory right edge.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from finpilot.audit._merkle import EMPTY_ROOT, node_hash, root_of

HEIGHT = 8
WIDTH = 1 << HEIGHT
HASH = 32
FULL = WIDTH * HASH

TileKey = tuple[int, int]
TileFetch = Callable[[int, int], bytes | None]


def split_hashes(blob: bytes) -> list[bytes]:
    """Cut a tile blob into 32-byte hashes."""
    return [blob[i : i + HASH] for i in range(0, len(blob), HASH)]


def _pyramid(hashes: list[bytes]) -> list[list[bytes]]:
    levels = [hashes]
    while len(levels[-1]) > 1:
        prev = levels[-1]
        levels.append([node_hash(prev[i], prev[i + 1]) for i in range(0, len(prev), 2)])
    return levels


class TileReader:
    """A :class:`~finpilot.audit._merkle.NodeSource` over stored tiles, with caches.

    Complete tiles are cached as pyramids. The right edge of the tree lives in partial tiles,
    which every proof touches; their hashes never change either (the log is append-only), so
    the longest prefix read of each is kept, and the subtree roots computed from them too.
    Each proof then costs about one tile read instead of one per level.
    """

    def __init__(self, fetch: TileFetch, cache_tiles: int = 1024) -> None:
        self._fetch = fetch
        self._cache: OrderedDict[TileKey, list[list[bytes]]] = OrderedDict()
        self._partial: OrderedDict[TileKey, bytes] = OrderedDict()
        self._nodes: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self._cap = cache_tiles
        self._lock = threading.Lock()

    def _remember(self, cache: OrderedDict[Any, Any], key: Any, value: Any, cap: int) -> None:
        with self._lock:
            cache[key] = value
            cache.move_to_end(key)
            while len(cache) > cap:
                cache.popitem(last=False)

    def _tile(self, key: TileKey, need: int) -> list[list[bytes]] | bytes:
        """The tile's pyramid when complete, else its stored hashes (at least ``need`` bytes)."""
        with self._lock:
            pyramid = self._cache.get(key)
            if pyramid is not None:
                self._cache.move_to_end(key)
                return pyramid
            blob = self._partial.get(key)
        if blob is None or len(blob) < need:
            blob = self._fetch(*key) or b""
            if len(blob) >= FULL:
                pyramid = _pyramid(split_hashes(blob[:FULL]))
                self._remember(self._cache, key, pyramid, self._cap)
                return pyramid
            self._remember(self._partial, key, blob, max(self._cap // 8, 1))
        return blob

    def perfect(self, level: int, index: int) -> bytes:
        """Hash of the perfect subtree at ``level`` and ``index``; KeyError if the store lacks it."""
        with self._lock:
            known = self._nodes.get((level, index))
        if known is not None:
            return known
        tile_level, height = divmod(level, HEIGHT)
        tile, offset = divmod(index << height, WIDTH)
        need = (offset + (1 << height)) * HASH
        got = self._tile((tile_level, tile), need)
        if isinstance(got, list):
            return got[height][offset >> height]
        if len(got) < need:
            raise KeyError(f"tile {tile_level}/{tile} lacks node {level}/{index}")
        node = root_of(split_hashes(got[offset * HASH : need]))
        if self._cap:
            self._remember(self._nodes, (level, index), node, self._cap * 4)
        return node

    def forget(self) -> None:
        """Drop every cache (after the store was changed behind our back, e.g. in tests)."""
        with self._lock:
            self._cache.clear()
            self._partial.clear()
            self._nodes.clear()


class TreeState:
    """The right edge of a tree: the partial tile of every tile level.

    Leaves are taken in bulk and hashed upward one whole tile at a time (list comprehensions,
    not a Python loop per leaf): this is the writer's hot path and the verifier's whole job.
    ``on_tile`` is called with ``(level, index, hashes)`` each time a tile fills.
    """

    def __init__(self, on_tile: Callable[[int, int, list[bytes]], None] | None = None) -> None:
        self.size = 0
        self.partial: list[list[bytes]] = [[]]
        self.dirty: dict[TileKey, bytes] = {}
        self._on_tile = on_tile

    @classmethod
    def load(cls, size: int, fetch: TileFetch) -> TreeState:
        """Rebuild the right edge of a stored tree of ``size`` leaves from its partial tiles."""
        state = cls()
        state.size = size
        level = 0
        while size >> (HEIGHT * level):
            count = size >> (HEIGHT * level)
            width = count % WIDTH
            if len(state.partial) <= level:
                state.partial.append([])
            if width:
                blob = fetch(level, count // WIDTH) or b""
                if len(blob) < width * HASH:
                    raise KeyError(f"tile {level}/{count // WIDTH} is shorter than the tree needs")
                state.partial[level] = split_hashes(blob[: width * HASH])
            level += 1
        return state

    def push_many(self, leaves: list[bytes]) -> None:
        """Append leaf hashes."""
        acc = self.partial[0]
        pos = 0
        while pos < len(leaves):
            take = min(WIDTH - len(acc), len(leaves) - pos)
            acc.extend(leaves[pos : pos + take])
            pos += take
            self.size += take
            if len(acc) == WIDTH:
                self._full(0, acc)
                acc = self.partial[0] = []

    def _full(self, level: int, hashes: list[bytes]) -> None:
        index = ((self.size >> (HEIGHT * level)) - 1) // WIDTH
        self.dirty[(level, index)] = b"".join(hashes)
        if self._on_tile is not None:
            self._on_tile(level, index, hashes)
        top = root_of(hashes)
        if len(self.partial) <= level + 1:
            self.partial.append([])
        up = self.partial[level + 1]
        up.append(top)
        if len(up) == WIDTH:
            self._full(level + 1, up)
            self.partial[level + 1] = []

    def root(self) -> bytes:
        """Root of the tree: one perfect subtree per set bit of the size, from the partial tiles."""
        size = self.size
        parts: list[bytes] = []
        for level in range(len(self.partial) - 1, -1, -1):
            count = (size >> (HEIGHT * level)) % WIDTH
            acc = self.partial[level]
            offset = 0
            for height in range(HEIGHT - 1, -1, -1):
                if count >> height & 1:
                    parts.append(root_of(acc[offset : offset + (1 << height)]))
                    offset += 1 << height
        if not parts:
            return EMPTY_ROOT
        node = parts[-1]
        for left in reversed(parts[:-1]):
            node = node_hash(left, node)
        return node

    def partial_tiles(self) -> list[tuple[int, int, list[bytes]]]:
        """The non-empty partial tiles as ``(level, index, hashes)``."""
        size = self.size
        return [(level, (size >> (HEIGHT * level)) // WIDTH, acc) for level, acc in enumerate(self.partial) if acc]

    def take_dirty(self) -> dict[TileKey, bytes]:
        """Tiles changed since the last call: completed ones and the current partial ones."""
        out = self.dirty
        for level, index, acc in self.partial_tiles():
            out[(level, index)] = b"".join(acc)
        self.dirty = {}
        return out
