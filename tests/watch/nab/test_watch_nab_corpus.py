"""Loading a NAB tree: typed objects, and a clear NabDataError naming the file for each defect."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import SHARED_NAB

from finpilot.watch import PROFILE_NAMES, NabDataError, load_corpus

TINY = Path(__file__).parent / "data" / "tiny"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return Path(shutil.copytree(TINY, tmp_path / "nab"))


def test_the_shipped_tiny_tree_loads(tree: Path) -> None:
    nab = load_corpus(tree)
    assert [f.name for f in nab.files] == ["groupA/one.csv", "groupB/two.csv"]
    assert nab.rows == 540
    assert nab.files[0].windows == ((120, 139), (230, 249))
    assert nab.files[0].times[1] - nab.files[0].times[0] == 300.0
    assert set(nab.profiles) == set(PROFILE_NAMES)
    assert nab.profiles["reward_low_FN_rate"].fn_weight == 2.0


@pytest.mark.skipif(not SHARED_NAB.is_dir(), reason="the real corpus is not beside this checkout")
def test_the_real_corpus_loads() -> None:
    nab = load_corpus(SHARED_NAB)
    assert (len(nab.files), nab.rows, nab.windows) == (58, 365558, 116)


def test_a_directory_without_data_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(NabDataError, match=re.escape("no data/ directory")) as err:
        load_corpus(tmp_path)
    assert err.value.fix is not None
    assert "labels/combined_windows.json" in err.value.fix


def test_a_missing_labels_file_is_rejected(tree: Path) -> None:
    (tree / "labels" / "combined_windows.json").unlink()
    with pytest.raises(NabDataError, match=re.escape("combined_windows.json: cannot be read")):
        load_corpus(tree)


def test_a_labelled_file_missing_from_data_is_rejected(tree: Path) -> None:
    (tree / "data" / "groupB" / "two.csv").unlink()
    with pytest.raises(NabDataError, match=re.escape("missing under data/, e.g. groupB/two.csv")):
        load_corpus(tree)


def test_a_data_file_without_labels_is_rejected(tree: Path) -> None:
    (tree / "data" / "groupB" / "three.csv").write_text("timestamp,value\n2014-04-01 00:00:00,1\n")
    with pytest.raises(NabDataError, match=re.escape("data/groupB/three.csv has no entry")):
        load_corpus(tree)


def test_a_malformed_row_is_named_by_file_and_line(tree: Path) -> None:
    path = tree / "data" / "groupA" / "one.csv"
    lines = path.read_text().splitlines()
    lines[5] = "2014-04-01 00:20:00,not-a-number"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(NabDataError, match=re.escape("groupA/one.csv line 6")):
        load_corpus(tree)


def test_a_window_edge_that_is_not_a_row_is_rejected(tree: Path) -> None:
    labels_path = tree / "labels" / "combined_windows.json"
    labels = json.loads(labels_path.read_text())
    labels["groupB/two.csv"] = [["2014-04-01 12:31:00.000000", "2014-04-01 14:05:00.000000"]]
    labels_path.write_text(json.dumps(labels))
    with pytest.raises(NabDataError, match="is not a timestamp of the file"):
        load_corpus(tree)


def test_overlapping_windows_are_rejected(tree: Path) -> None:
    labels_path = tree / "labels" / "combined_windows.json"
    labels = json.loads(labels_path.read_text())
    first = labels["groupA/one.csv"][0]
    labels["groupA/one.csv"] = [first, first]
    labels_path.write_text(json.dumps(labels))
    with pytest.raises(NabDataError, match="overlaps"):
        load_corpus(tree)


def test_a_profile_missing_from_the_config_is_rejected(tree: Path) -> None:
    path = tree / "config" / "profiles.json"
    profiles = json.loads(path.read_text())
    del profiles["reward_low_FP_rate"]
    path.write_text(json.dumps(profiles))
    with pytest.raises(NabDataError, match="reward_low_FP_rate"):
        load_corpus(tree)


def test_timestamps_with_an_offset_are_read_as_utc(tree: Path) -> None:
    path = tree / "data" / "groupB" / "two.csv"
    lines = path.read_text().splitlines()
    # Every row one hour ahead in +01:00: the same instants.
    shifted = [lines[0]]
    for line in lines[1:]:
        stamp, value = line.split(",")
        hour = int(stamp[11:13]) + 1
        shifted.append(f"{stamp[:11]}{hour:02d}{stamp[13:]}+01:00,{value}")
    path.write_text("\n".join(shifted) + "\n")
    labels_path = tree / "labels" / "combined_windows.json"
    labels = json.loads(labels_path.read_text())
    labels["groupB/two.csv"] = []
    labels_path.write_text(json.dumps(labels))
    original = load_corpus(TINY).files[1]
    loaded = load_corpus(tree).files[1]
    assert loaded.times.tolist() == original.times.tolist()
