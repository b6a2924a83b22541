"""Entity rows in fixed-size blocks of typed 2-D arrays, found through a ``dict[str, int]``.

Growing a single array would copy the whole state and briefly need twice its memory; blocks of
:data:`BLOCK_ROWS` rows never move, so capacity exceeds use by less than one block (4,096 rows)
at any size. Blocks come from ``np.zeros`` (calloc), so a block's pages are only resident once
its rows are used. The id map holds only str keys and int values, which CPython's garbage
collector does not track: the whole state is a few dozen container objects at any size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt

BLOCK_SHIFT = 12
BLOCK_ROWS = 1 << BLOCK_SHIFT
"""Rows (entities) per block."""
BLOCK_MASK = BLOCK_ROWS - 1

Columns = tuple[npt.NDArray[np.generic], ...]


class RowStore:
    """Rows of one entity kind: ``ids`` maps an entity id to its row; ``blocks[row >> 12]`` holds it."""

    __slots__ = ("blocks", "ids", "init", "layout")

    def __init__(self, layout: tuple[tuple[type[np.generic], int], ...], init: Callable[[Columns, int], None]) -> None:
        self.layout = layout  # (dtype, width) of each 2-D array of a block
        self.init = init  # fills a new row with "no history"
        self.ids: dict[str, int] = {}
        self.blocks: list[Columns] = []

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, name: str) -> int:
        """A new row for ``name`` (not yet present), initialised; its index."""
        index = len(self.ids)
        if index >> BLOCK_SHIFT == len(self.blocks):
            self.blocks.append(tuple(np.zeros((BLOCK_ROWS, width), dtype) for dtype, width in self.layout))
        self.init(self.blocks[index >> BLOCK_SHIFT], index & BLOCK_MASK)
        self.ids[name] = index
        return index

    def column_chunks(self, which: int) -> Iterator[npt.NDArray[np.generic]]:
        """The used rows of array ``which``, block by block (C-contiguous slices, no copy)."""
        left = len(self.ids)
        for block in self.blocks:
            take = min(left, BLOCK_ROWS)
            if take <= 0:
                return
            yield block[which][:take]
            left -= take

    def load(
        self,
        names: list[str],
        columns: list[npt.NDArray[np.generic]],
        convert: Callable[[list[npt.NDArray[np.generic]]], list[npt.NDArray[np.generic]]] | None = None,
    ) -> None:
        """Replace the rows with ``names`` and one full ``(len(names), width)`` array per layout entry.

        ``convert`` maps arrays of an older layout to the layout's; it is given a block's rows at a
        time, so an old snapshot's conversion needs memory for one block, not for the whole state.
        """
        self.ids = dict(zip(names, range(len(names)), strict=True))
        self.blocks = []
        for start in range(0, len(names), BLOCK_ROWS):
            block = tuple(np.zeros((BLOCK_ROWS, width), dtype) for dtype, width in self.layout)
            parts = [source[start : start + BLOCK_ROWS] for source in columns]
            for target, part in zip(block, convert(parts) if convert else parts, strict=True):
                target[: part.shape[0]] = part
            self.blocks.append(block)

    def nbytes(self) -> int:
        """Bytes allocated for the blocks (capacity, resident or not)."""
        return sum(a.nbytes for block in self.blocks for a in block)
