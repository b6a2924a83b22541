"""A replay split over N scorers as the HTTP partitions split live traffic: the proof that N changes nothing.

The stream is fed in order. The owner of each payment's customer (:class:`HashRing`) scores it;
every other scorer counts it in its terminal's windows only (``observe_elsewhere``), as the
ledger tail does live. Labels reach every scorer. :func:`score_bytes` turns the scores and
feature vectors into bytes, so a test can say "byte-identical for N = 1, 2 and 4".
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

from finpilot.fraud._features._engine import FeatureEngine
from finpilot.fraud._models._artifact import ModelArtifact
from finpilot.fraud._payment import Payment
from finpilot.fraud._scorer import Score, Scorer
from finpilot.fraud._serving._ring import HashRing


def partitioned_scores(
    artifact: ModelArtifact, payments: Iterable[Payment], members: int, labels: Sequence[bool] | None = None
) -> list[Score]:
    """Score ``payments`` in order on ``members`` scorers; ``labels[i]`` (if given) is fed to all after payment i."""
    ring = HashRing(members)
    scorers = [Scorer(FeatureEngine(), artifact) for _ in range(members)]
    out: list[Score] = []
    for i, payment in enumerate(payments):
        owner = ring.owner(payment.customer)
        for member, scorer in enumerate(scorers):
            if member == owner:
                out.append(scorer.score_one(payment))
            else:
                scorer.engine.observe_elsewhere(payment)
        if labels is not None:
            for scorer in scorers:
                scorer.engine.observe_label(payment, bool(labels[i]))
    return out


def score_bytes(scores: Iterable[Score]) -> bytes:
    """The scores, model scores and feature vectors as little-endian doubles, in order."""
    chunks: list[bytes] = []
    for s in scores:
        values = [s.score, s.model_score, *s.features]
        chunks.append(struct.pack(f"<{len(values)}d", *values))
    return b"".join(chunks)
