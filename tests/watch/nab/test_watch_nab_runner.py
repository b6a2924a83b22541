"""The runner streams every file row by row, writes NAB-layout results, and re-scores them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from finpilot.watch import (
    PROFILE_NAMES,
    NabDataError,
    UnknownDetectorError,
    load_corpus,
    make_detector,
    read_results,
    run_nab,
    score_results,
    write_results,
)

TINY = Path(__file__).parent / "data" / "tiny"


def test_a_run_streams_the_detector_one_row_at_a_time() -> None:
    nab = load_corpus(TINY)
    result = run_nab(nab, "windowed-gaussian", jobs=1)
    f = nab.files[1]
    det = make_detector("windowed-gaussian")
    expected = []
    for t, x in zip(f.times.tolist(), f.values.tolist(), strict=True):
        expected.append(det.score_one(t, x))
        det.learn_one(t, x)
    assert result.scores[f.name].tolist() == expected
    assert result.points == 540
    assert result.points_per_s > 0
    assert result.points_per_s_per_core > 0
    # The tiny corpus has a 5-sigma step in each window: the baseline finds them all.
    assert result.score.normalised("standard") > 50


def test_parallel_and_serial_runs_agree() -> None:
    nab = load_corpus(TINY)
    one = run_nab(nab, "windowed-gaussian", jobs=1)
    two = run_nab(nab, "windowed-gaussian", jobs=2)
    assert two.jobs == 2
    for name in one.scores:
        assert np.array_equal(one.scores[name], two.scores[name])
    assert one.as_dict()["standard"] == two.as_dict()["standard"]


def test_the_null_detector_scores_zero() -> None:
    result = run_nab(load_corpus(TINY), "null", jobs=1)
    for profile in PROFILE_NAMES:
        assert result.score.normalised(profile) == 0.0


def test_an_unknown_detector_is_rejected_with_the_known_names() -> None:
    with pytest.raises(UnknownDetectorError) as err:
        run_nab(load_corpus(TINY), "no-such-detector", jobs=1)
    assert err.value.fix is not None
    assert "windowed-gaussian" in err.value.fix


def test_written_results_score_the_same_as_the_run(tmp_path: Path) -> None:
    nab = load_corpus(TINY)
    run = run_nab(nab, "windowed-gaussian", jobs=1)
    paths = write_results(tmp_path, run.detector, nab, run.scores)
    assert paths[0] == tmp_path / "groupA" / "windowed-gaussian_one.csv"
    assert paths[0].read_text().splitlines()[0] == "timestamp,value,anomaly_score"
    again = score_results(nab, tmp_path)
    for profile in PROFILE_NAMES:
        assert again.score.profiles[profile].raw == run.score.profiles[profile].raw
        assert again.score.profiles[profile].threshold == run.score.profiles[profile].threshold


def test_published_style_results_with_extra_columns_and_no_prefix_are_read(tmp_path: Path) -> None:
    nab = load_corpus(TINY)
    for f in nab.files:
        path = tmp_path / f.name
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = ["timestamp,value,anomaly_score,label,S(t)_standard"]
        rows += [f"{t},{v},0.25,0,0.0" for t, v in zip(f.timestamps, f.values.tolist(), strict=True)]
        path.write_text("\n".join(rows) + "\n")
    scores = read_results(tmp_path, nab)
    assert all(np.all(s == 0.25) for s in scores.values())


def test_results_that_do_not_match_the_data_are_rejected(tmp_path: Path) -> None:
    nab = load_corpus(TINY)
    run = run_nab(nab, "null", jobs=1)
    write_results(tmp_path, "null", nab, run.scores)
    path = tmp_path / "groupB" / "null_two.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-3]) + "\n")
    with pytest.raises(NabDataError, match=re.escape("237 rows, data/groupB/two.csv has 240")):
        score_results(nab, tmp_path)
    shutil.copy(tmp_path / "groupA" / "null_one.csv", tmp_path / "groupA" / "other_one.csv")
    with pytest.raises(NabDataError, match=re.escape("several result files for groupA/one.csv")):
        score_results(nab, tmp_path)
    (tmp_path / "groupA" / "other_one.csv").unlink()
    (tmp_path / "groupA" / "null_one.csv").unlink()
    with pytest.raises(NabDataError, match=re.escape("no result file for groupA/one.csv")):
        score_results(nab, tmp_path)


def test_results_can_be_written_with_nab_published_precision(tmp_path: Path) -> None:
    nab = load_corpus(TINY)
    scores = {f.name: np.full(f.rows, 1 - 1e-13) for f in nab.files}
    write_results(tmp_path / "exact", "x", nab, scores)
    write_results(tmp_path / "twelve", "x", nab, scores, digits=12)
    exact = read_results(tmp_path / "exact", nab)
    twelve = read_results(tmp_path / "twelve", nab)
    assert np.all(exact["groupA/one.csv"] == 1 - 1e-13)
    # 12 significant digits round 0.9999999999999 up to 1.0, as NAB's published files do.
    assert np.all(twelve["groupA/one.csv"] == 1.0)
