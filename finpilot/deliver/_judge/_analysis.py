"""One analysis as a fact: judge a :class:`SampleSet`, then build its ``deliver.analysis`` audit entry."""

from __future__ import annotations

import hashlib
import json

from finpilot.audit import Entry
from finpilot.audit.kinds import DELIVER_ANALYSIS
from finpilot.deliver._judge._judge import next_step
from finpilot.deliver._judge._model import JudgeConfig, Judgement
from finpilot.deliver._judge._source import SampleSet
from finpilot.deliver._release import check_release

"""What a release id looks like (the delivery capability's shared contract)."""


def config_digest(config: JudgeConfig) -> str:
    """``sha256:<hex>`` of the config's canonical JSON: which settings judged, whatever file they came from."""
    text = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def analysis_entry(
    judgement: Judgement,
    found: SampleSet,
    config: JudgeConfig,
    *,
    actor: str,
    source: str,
    rollout: str | None,
    release: str | None,
    extra_files: tuple[tuple[str, str], ...] = (),
    rollout_step: int | None = None,
    weight: int | None = None,
) -> Entry:
    """The ``deliver.analysis`` entry of one analysis; subject ``release:<id>`` if given, else ``rollout:<name>``."""
    check_release(release)
    times = [float(s.timestamp[i]) for s in (found.baseline, found.canary) if len(s) for i in (0, -1)]
    evidence = {
        "source": source,
        "rollout": rollout,
        "release": release,
        "verdict": judgement.verdict,
        "enough_data": judgement.enough_data,
        "score": judgement.score,
        "reason": judgement.reason,
        "step": next_step(judgement, config, 0),
        "metrics": [
            {
                "name": m.name,
                "outcome": m.outcome,
                "critical": m.critical,
                "baseline": m.baseline,
                "canary": m.canary,
                "statistic": m.statistic,
                "p_value": m.p_value,
                "p_adjusted": m.p_adjusted,
                "effect_size": m.effect_size,
                "test": m.test,
            }
            for m in judgement.metrics
        ],
        "window": {
            "start": min(times) if times else None,
            "end": max(times) if times else None,
            "baseline_requests": judgement.baseline_requests,
            "canary_requests": judgement.canary_requests,
        },
        "samples": found.description,
        "files": [{"path": p, "digest": d} for p, d in (*found.files, *extra_files)],
        "config_digest": config_digest(config),
        "rollout_step": rollout_step,
        "weight": weight,
    }
    subject = f"release:{release}" if release else f"rollout:{rollout or 'unnamed'}"
    return DELIVER_ANALYSIS.entry(
        actor=actor, action="judge", subject=subject, outcome=judgement.verdict, evidence=evidence
    )
