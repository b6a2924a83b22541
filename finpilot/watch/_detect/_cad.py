"""A contextual anomaly detector after CAD OSE (Smirnov's Contextual Anomaly Detector, open source).

The idea, restated in our own terms (no code is taken from the original):

- Each value is quantised into ``2**bits`` levels of the range seen so far, and the level is
  written as a set of *facts*, one per bit position (position and bit value).
- A *context* pairs a left set of facts (the previous step's facts plus the "neurons" that were
  active then) with a right set (the facts that followed). Contexts are stored split into left
  and right *semi-contexts*, so that many contexts share them.
- At each step the stored contexts whose left part fully matches the previous left group are
  *selected*; those whose right part also fully matches the new facts are *active*. Part of the
  score is the share of selected contexts that are not active (the past did not foresee this).
- When the pair (previous left group, new facts) was never seen, partial overlaps of selected
  zero-level contexts are proposed as new, more general contexts; the other part of the score is
  the share of those proposals that are genuinely new (how much there is to learn).
- The most used active contexts become neurons: facts of the next left group, which gives the
  detector memory beyond one step.
- A point whose facts were all predicted (the union of the right parts of the best-predicting
  contexts) scores 0; after a raw score of ``base_threshold`` or more, ``rest`` points report 0.

Unlike CAD OSE in NAB, which is handed each file's minimum and maximum before the first row, the
range is learned online (see ``_quantise`` and ``_widen``). The memory holds at most ``max_contexts`` contexts:
once full, no new contexts are stored (scores still count proposals as new), so memory and the
time per point are bounded.

Research only, not in the detector registry: on NAB it scored 55.44 / 49.60 / 58.80 (below
``ensemble``) at about 700 points/s per core, far below the 10,000 points/s target; see
``docs/watch-detectors.md``.
"""

from __future__ import annotations

import math
from typing import ClassVar

_NEURON = 2**31
"""Neuron facts are offset far above the value facts so the two never collide."""


class _Semi:
    """A semi-context: a sorted tuple of facts and, for left ones, its contexts by right id."""

    __slots__ = ("facts", "ident", "rights")

    def __init__(self, facts: tuple[int, ...], ident: int) -> None:
        self.facts = facts
        self.ident = ident
        self.rights: dict[int, int] = {}


class _Context:
    """Counts of one context: predictions made, facts it got right, times fully active."""

    __slots__ = ("active", "hits", "right", "tie", "total", "zero")

    def __init__(self, right: tuple[int, ...], zero: bool, tie: int) -> None:
        self.total = 0
        self.hits = 0
        self.active = 0
        self.right = right
        self.zero = zero
        self.tie = tie


class CadOseDetector:
    """Contextual anomaly detection after CAD OSE, with the value range learned online."""

    name: ClassVar[str] = "cad-ose"

    def __init__(
        self,
        bits: int = 3,
        base_threshold: float = 0.75,
        rest: int = 120,
        max_left: int = 7,
        max_neurons: int = 15,
        max_contexts: int = 200_000,
        margin: float = 0.0,
        freeze_after: int | None = None,
    ) -> None:
        if bits < 1 or rest < 0 or max_left < 1 or max_neurons < 1 or max_contexts < 1 or margin < 0:
            raise ValueError("bits, max_left, max_neurons, max_contexts >= 1; rest, margin >= 0")
        if not 0.0 < base_threshold <= 1.0:
            raise ValueError("base_threshold must lie in (0, 1]")
        self._bits = bits
        self._top = 2**bits - 1
        self._base = base_threshold
        self._rest = rest
        self._max_left = max_left
        self._max_neurons = max_neurons
        self._max_contexts = max_contexts
        self._margin = margin
        # After this many points the range stops widening (values beyond it stay facts of their
        # own), so that a late extreme does not re-quantise, and so unlearn, every context.
        self._freeze_after = freeze_after
        self._learned = 0
        self._lo: float | None = None
        self._hi: float | None = None
        self._semis: tuple[dict[tuple[int, ...], _Semi], dict[tuple[int, ...], _Semi]] = ({}, {})
        self._rights: list[_Semi] = []
        self._index: tuple[dict[int, list[_Semi]], dict[int, list[_Semi]]] = ({}, {})
        self._contexts: list[_Context] = []
        self._left_group: tuple[int, ...] = ()
        # Left semi-contexts wholly inside the current left group; those sharing only some facts
        # with it (and the facts shared) are found when needed and kept until the group moves on.
        self._full: list[_Semi] = []
        self._partial_memo: list[tuple[_Semi, tuple[int, ...]]] | None = None
        self._by_max: dict[int, list[_Semi]] = {}
        self._predicted: frozenset[int] = frozenset()
        # Points since the last raw score at or above the base threshold; starts muted, as a
        # fresh detector knows nothing yet.
        self._since_high = 0

    @property
    def stored_contexts(self) -> int:
        """How many contexts the memory holds (at most ``max_contexts``)."""
        return len(self._contexts)

    # -- quantisation ---------------------------------------------------------------------

    def _quantise(self, x: float) -> tuple[int, ...]:
        lo, hi = self._lo, self._hi
        if lo is None or hi is None:
            level = 0
        else:
            span = hi - lo
            step = span / self._top if span > 0 else 1.0
            if x < lo:
                return (-1,)  # below everything seen: a fact of its own
            level = int((x - lo) / step)
            if level > self._top:
                return (-2,)  # above everything seen
        return tuple(2 * b + ((level >> b) & 1) for b in range(self._bits))

    def _widen(self, x: float) -> None:
        lo, hi = self._lo, self._hi
        if lo is None or hi is None:
            self._lo = self._hi = x
            return
        pad = self._margin * (hi - lo)
        if x < lo:
            self._lo = x - pad
        elif x > hi:
            self._hi = x + pad

    # -- one step -------------------------------------------------------------------------

    def _right_matches(self, facts: tuple[int, ...]) -> dict[int, list[int]]:
        matched: dict[int, list[int]] = {}
        index = self._index[1]
        for f in facts:
            for semi in index.get(f, ()):
                matched.setdefault(semi.ident, []).append(f)
        return matched

    def _zero_context(self, facts: tuple[int, ...]) -> int | None:
        left = self._semis[0].get(self._left_group)
        right = self._semis[1].get(facts)
        if left is None or right is None:
            return None
        return left.rights.get(right.ident)

    def _step(self, facts: tuple[int, ...], learn: bool) -> float:
        """The raw score of ``facts``; with ``learn``, also every state change of the step."""
        has_zero = bool(self._left_group) and bool(facts)
        new_zero = False
        skip = -1
        if has_zero:
            existing = self._zero_context(facts)
            new_zero = existing is None
            if learn:
                if existing is None:
                    skip = self._add_context(self._left_group, facts, zero=True)
                else:
                    self._contexts[existing].zero = True
        matched = self._right_matches(facts)
        contexts, rights = self._contexts, self._rights
        selected = 0
        active: list[tuple[int, int, int]] = []
        proposals: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        for semi in self._full:
            may_propose = new_zero and len(semi.facts) <= self._max_left
            for rid, cid in semi.rights.items():
                if cid == skip:
                    continue
                ctx = contexts[cid]
                got = matched.get(rid)
                selected += 1
                size = len(rights[rid].facts)
                if learn:
                    ctx.total += size
                if got is None:
                    continue
                if learn:
                    ctx.hits += len(got)
                if len(got) == size:
                    if learn:
                        ctx.active += 1
                    active.append((ctx.active, ctx.tie, cid))
                elif ctx.zero and may_propose:
                    proposals.append((semi.facts, tuple(got)))
        if new_zero:
            # Partly matched left semi-contexts only matter when there is something new to learn,
            # so the costly crossing is made only then.
            for semi, left_facts in self._partial():
                if len(left_facts) > self._max_left:
                    continue
                for rid, cid in semi.rights.items():
                    got = matched.get(rid)
                    if got is not None and cid != skip and contexts[cid].zero:
                        proposals.append((left_facts, tuple(got)))
        unique = set(proposals)
        if has_zero:
            unique.add((self._left_group, facts))
        fresh = 0
        if new_zero:
            fresh = 1 + sum(1 for p in set(proposals) if p != (self._left_group, facts) and not self._known(p))
        share_active = len(active) / selected if selected else 0.0
        share_new = fresh / len(unique) if new_zero and unique else 0.0
        surprised = any(f not in self._predicted for f in facts)
        raw = (1.0 - share_active + share_new) / 2.0 if surprised else 0.0
        if learn:
            self._advance(facts, active, proposals)
        return raw

    def _known(self, pair: tuple[tuple[int, ...], tuple[int, ...]]) -> bool:
        left = self._semis[0].get(pair[0])
        right = self._semis[1].get(pair[1])
        return left is not None and right is not None and right.ident in left.rights

    def _semi(self, side: int, facts: tuple[int, ...]) -> _Semi:
        table = self._semis[side]
        semi = table.get(facts)
        if semi is None:
            semi = _Semi(facts, len(table))
            table[facts] = semi
            if side == 1:
                self._rights.append(semi)
            index = self._index[side]
            for f in facts:
                index.setdefault(f, []).append(semi)
            if side == 0:
                self._by_max.setdefault(facts[-1], []).append(semi)
        return semi

    def _partial(self) -> list[tuple[_Semi, tuple[int, ...]]]:
        """Left semi-contexts sharing some but not all facts with the left group, and those facts."""
        memo = self._partial_memo
        if memo is None:
            hits: dict[int, tuple[_Semi, list[int]]] = {}
            index = self._index[0]
            for f in self._left_group:
                for semi in index.get(f, ()):
                    entry = hits.get(semi.ident)
                    if entry is None:
                        hits[semi.ident] = (semi, [f])
                    else:
                        entry[1].append(f)
            memo = [(semi, tuple(got)) for semi, got in hits.values() if len(got) < len(semi.facts)]
            self._partial_memo = memo
        return memo

    def _add_context(self, left: tuple[int, ...], right: tuple[int, ...], zero: bool) -> int:
        """Store the context (if there is room); its id, or -1 when none was added."""
        if len(self._contexts) >= self._max_contexts:
            return -1
        lsemi = self._semi(0, left)
        rsemi = self._semi(1, right)
        cid = lsemi.rights.get(rsemi.ident)
        if cid is not None:
            return -1
        cid = len(self._contexts)
        lsemi.rights[rsemi.ident] = cid
        # A fixed pseudo-random tie-break between equally used contexts (deterministic: ints hash
        # to themselves in CPython, and tuples of ints hash deterministically).
        self._contexts.append(_Context(right, zero, hash((left, right))))
        return cid

    def _advance(
        self,
        facts: tuple[int, ...],
        active: list[tuple[int, int, int]],
        proposals: list[tuple[tuple[int, ...], tuple[int, ...]]],
    ) -> None:
        active.sort()
        neurons = [_NEURON + cid for _, _, cid in active[-self._max_neurons :]]
        self._left_group = tuple(sorted(set(facts).union(neurons)))
        for left, right in proposals:
            self._add_context(left, right, zero=False)
        # The left semi-contexts wholly inside the new group: each is filed under its largest
        # fact, so only those filed under a fact of the group need checking.
        group = set(self._left_group)
        self._full = [
            semi for f in self._left_group for semi in self._by_max.get(f, ()) if group.issuperset(semi.facts)
        ]
        self._partial_memo = None
        best = 0.0
        chosen: list[_Context] = []
        contexts = self._contexts
        for semi in self._full:
            for cid in semi.rights.values():
                ctx = contexts[cid]
                weight = ctx.hits / ctx.total if ctx.total > 0 else 0.0
                if weight > best:
                    best = weight
                    chosen = [ctx]
                elif weight == best:
                    chosen.append(ctx)
        predicted: set[int] = set()
        for ctx in chosen:
            predicted.update(ctx.right)
        self._predicted = frozenset(predicted)

    # -- the contract ---------------------------------------------------------------------

    def score_one(self, t: float, x: float) -> float:
        """The CAD score of ``x`` (0 while resting after a high one); no state changes."""
        if not math.isfinite(x):
            return 0.0  # a gap or a broken reading is skipped, not scored
        if self._since_high < self._rest:
            return 0.0
        return self._step(self._quantise(x), learn=False)

    def learn_one(self, t: float, x: float) -> None:
        """Take the point's contexts into memory, move the left group on, widen the range."""
        if not math.isfinite(x):
            return
        raw = self._step(self._quantise(x), learn=True)
        if self._freeze_after is None or self._learned < self._freeze_after:
            self._widen(x)
        self._learned += 1
        if raw >= self._base:
            self._since_high = 0
        elif self._since_high < self._rest:
            self._since_high += 1
