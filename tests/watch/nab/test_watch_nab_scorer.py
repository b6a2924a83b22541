"""The NAB scorer: exact end points, hand-computed windows, and the sweep against brute force."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from conftest import SHARED_NAB, corpus, nab_file
from hypothesis import given, settings
from hypothesis import strategies as st

from finpilot.watch import PROFILE_NAMES, NabCorpus, NabDataError, NabFile, load_corpus, probation_rows, score_corpus

# NAB's scaled sigmoid is 2 / (1 + exp(5p)) - 1 = -tanh(5p / 2): the expectations below use the
# tanh form so they do not repeat the scorer's arithmetic.
MAX_TP = math.tanh(2.5)


def reward(position: float) -> float:
    """The weighted value of a standard-profile detection at ``position`` inside a window."""
    return -math.tanh(2.5 * position) / MAX_TP


def fp_cost(position: float, fp_weight: float = 0.11) -> float:
    """The weighted value of a false positive at ``position`` past a window."""
    return -math.tanh(2.5 * position) * fp_weight


def null_scores(nab: NabCorpus) -> dict[str, np.ndarray]:
    return {f.name: np.zeros(f.rows) for f in nab.files}


def perfect_scores(nab: NabCorpus) -> dict[str, np.ndarray]:
    out = {}
    for f in nab.files:
        s = np.zeros(f.rows)
        for left, _ in f.windows:
            s[left] = 1.0
        out[f.name] = s
    return out


def one_window(rows: int = 100, window: tuple[int, int] = (40, 49)) -> NabCorpus:
    return corpus(nab_file("g/f.csv", rows, [window]))


def standard_raw(nab: NabCorpus, hits: list[int], threshold: float | None = 0.5) -> float:
    s = np.zeros(nab.files[0].rows)
    s[hits] = 1.0
    fixed = None if threshold is None else dict.fromkeys(PROFILE_NAMES, threshold)
    return score_corpus(nab, {nab.files[0].name: s}, fixed).profiles["standard"].raw


def test_probation_is_fifteen_percent_capped_at_750() -> None:
    assert probation_rows(100) == 15
    assert probation_rows(4032) == 604
    assert probation_rows(22695) == 750


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_never_firing_scores_zero_and_perfect_scores_100_on_a_small_corpus(
    small_corpus: NabCorpus, profile: str
) -> None:
    assert score_corpus(small_corpus, null_scores(small_corpus)).normalised(profile) == 0.0
    assert score_corpus(small_corpus, perfect_scores(small_corpus)).normalised(profile) == 100.0


@pytest.mark.skipif(not SHARED_NAB.is_dir(), reason="the real corpus is not beside this checkout")
def test_never_firing_scores_zero_and_perfect_scores_100_on_the_real_corpus() -> None:
    nab = load_corpus(SHARED_NAB)
    assert (len(nab.files), nab.rows, nab.windows) == (58, 365558, 116)
    null = score_corpus(nab, null_scores(nab))
    perfect = score_corpus(nab, perfect_scores(nab))
    for profile in PROFILE_NAMES:
        assert null.normalised(profile) == 0.0
        assert perfect.normalised(profile) == 100.0
        assert perfect.profiles[profile].raw == 116.0


def test_a_detection_at_the_left_edge_earns_the_full_reward() -> None:
    assert standard_raw(one_window(), [40]) == pytest.approx(1.0, abs=1e-12)


def test_a_detection_at_the_right_edge_earns_the_least() -> None:
    # Row 49 is the last of a 10-row window: position -(49 - 49 + 1) / 10.
    assert standard_raw(one_window(), [49]) == pytest.approx(reward(-0.1), abs=1e-12)
    assert 0 < reward(-0.1) < 0.25


def test_a_false_positive_just_after_a_window_costs_a_little_and_the_window_is_missed() -> None:
    # Row 50 is one row past the window's last row 49: position 1 / (10 - 1).
    assert standard_raw(one_window(), [50]) == pytest.approx(-1.0 + fp_cost(1 / 9), abs=1e-12)


def test_a_false_positive_far_after_a_window_costs_the_full_fp_weight() -> None:
    # Row 80 lies 31 rows past the window: position 31 / 9 > 3.
    assert standard_raw(one_window(), [80]) == pytest.approx(-1.0 - 0.11, abs=1e-12)


def test_a_false_positive_before_the_first_window_costs_the_full_fp_weight() -> None:
    assert standard_raw(one_window(), [20]) == pytest.approx(-1.0 - 0.11, abs=1e-12)


def test_probation_rows_are_ignored() -> None:
    nab = one_window()
    # Rows 0..14 are the probation of a 100-row file: a detection there changes nothing.
    assert standard_raw(nab, [3, 14]) == -1.0
    assert standard_raw(nab, [15]) == pytest.approx(-1.11, abs=1e-12)
    # The sweep cannot use them either: firing only in probation scores like never firing.
    assert standard_raw(nab, [5], threshold=None) == -1.0


def test_only_the_earliest_detection_of_a_window_counts() -> None:
    nab = one_window()
    # Row 42: position -(49 - 42 + 1) / 10 = -0.8.
    assert standard_raw(nab, [42, 45, 49]) == pytest.approx(reward(-0.8), abs=1e-12)
    assert standard_raw(nab, [42]) == standard_raw(nab, [42, 47])


def test_the_profiles_weigh_misses_and_false_positives_differently() -> None:
    nab = one_window()
    s = np.zeros(100)
    s[20] = 1.0
    fixed = dict.fromkeys(PROFILE_NAMES, 0.5)
    result = score_corpus(nab, {"g/f.csv": s}, fixed)
    assert result.profiles["standard"].raw == pytest.approx(-1.11)
    assert result.profiles["reward_low_FP_rate"].raw == pytest.approx(-1.22)
    assert result.profiles["reward_low_FN_rate"].raw == pytest.approx(-2.11)


def test_the_sweep_fires_nowhere_when_every_detection_costs() -> None:
    nab = one_window()
    s = np.zeros(100)
    s[[20, 25, 30]] = 0.9
    result = score_corpus(nab, {"g/f.csv": s})
    assert result.profiles["standard"].raw == -1.0
    assert result.profiles["standard"].threshold > 0.9
    assert result.files[0].false_positives["standard"] == 0


def test_file_scores_add_up_to_the_corpus_score(small_corpus: NabCorpus) -> None:
    rng = np.random.default_rng(7)
    scores = {f.name: rng.random(f.rows) for f in small_corpus.files}
    result = score_corpus(small_corpus, scores)
    for profile in PROFILE_NAMES:
        total = sum(f.scores[profile] for f in result.files)
        assert total == pytest.approx(result.profiles[profile].raw)


def test_missing_or_malformed_scores_are_rejected_with_the_file_named(small_corpus: NabCorpus) -> None:
    scores = null_scores(small_corpus)
    short = dict(scores, **{"groupA/two.csv": np.zeros(3)})
    with pytest.raises(NabDataError, match=re.escape("groupA/two.csv: 3 anomaly scores for 150 rows")):
        score_corpus(small_corpus, short)
    nan = dict(scores)
    nan["groupA/one.csv"] = np.zeros(200)
    nan["groupA/one.csv"][10] = np.nan
    with pytest.raises(NabDataError, match=re.escape("groupA/one.csv row 11")):
        score_corpus(small_corpus, nan)
    del scores["groupB/three.csv"]
    with pytest.raises(NabDataError, match=re.escape("no anomaly scores for groupB/three.csv")):
        score_corpus(small_corpus, scores)


# --- properties -------------------------------------------------------------------------------


@st.composite
def random_run(draw: st.DrawFn) -> tuple[NabCorpus, dict[str, np.ndarray]]:
    """A corpus of 1-3 small files with random windows, and scores drawn from few levels (ties)."""
    files: list[NabFile] = []
    scores: dict[str, np.ndarray] = {}
    for k in range(draw(st.integers(1, 3))):
        rows = draw(st.integers(20, 80))
        cuts = sorted(draw(st.sets(st.integers(probation_rows(rows), rows - 1), max_size=6)))
        windows = [(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if b > a]
        files.append(nab_file(f"g/f{k}.csv", rows, windows, seed=k))
        levels = draw(st.lists(st.integers(0, 5), min_size=rows, max_size=rows))
        scores[f"g/f{k}.csv"] = np.array(levels, dtype=float) / 5.0
    if not any(f.windows for f in files):
        files[0] = nab_file(files[0].name, files[0].rows, [(files[0].rows - 5, files[0].rows - 2)])
    return corpus(*files), scores


@settings(max_examples=60, deadline=None)
@given(random_run())
def test_no_run_scores_above_100(run: tuple[NabCorpus, dict[str, np.ndarray]]) -> None:
    nab, scores = run
    result = score_corpus(nab, scores)
    for profile in PROFILE_NAMES:
        assert result.normalised(profile) <= 100.0 + 1e-9
        assert result.normalised(profile) >= 0.0 - 1e-9  # the sweep can always fire nowhere


@settings(max_examples=60, deadline=None)
@given(random_run(), st.data())
def test_a_later_detection_in_an_already_detected_window_changes_nothing(
    run: tuple[NabCorpus, dict[str, np.ndarray]], data: st.DataObject
) -> None:
    nab, scores = run
    fixed = dict.fromkeys(PROFILE_NAMES, 0.5)
    candidates = [
        (f, left, right)
        for f in nab.files
        for left, right in f.windows
        if np.any(scores[f.name][left : right + 1] >= 0.5)
    ]
    if not candidates:
        return
    f, left, right = data.draw(st.sampled_from(candidates))
    first = left + int(np.flatnonzero(scores[f.name][left : right + 1] >= 0.5)[0])
    if first == right:
        return
    later = data.draw(st.integers(first + 1, right))
    before = score_corpus(nab, scores, fixed)
    changed = dict(scores)
    changed[f.name] = scores[f.name].copy()
    changed[f.name][later] = 1.0
    after = score_corpus(nab, changed, fixed)
    for profile in PROFILE_NAMES:
        assert after.profiles[profile].raw == pytest.approx(before.profiles[profile].raw, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(random_run())
def test_the_sweep_finds_the_best_of_every_threshold(run: tuple[NabCorpus, dict[str, np.ndarray]]) -> None:
    nab, scores = run
    swept = score_corpus(nab, scores)
    levels = sorted({float(v) for s in scores.values() for v in s} | {1.1})
    for profile in PROFILE_NAMES:
        brute = [score_corpus(nab, scores, {profile: t}).profiles[profile].raw for t in levels]
        assert swept.profiles[profile].raw == pytest.approx(max(brute), abs=1e-9)
        # The chosen threshold really gives the reported score.
        again = score_corpus(nab, scores, {profile: swept.profiles[profile].threshold})
        assert again.profiles[profile].raw == pytest.approx(swept.profiles[profile].raw, abs=1e-12)
