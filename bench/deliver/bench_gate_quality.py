"""How well the gate's static analysis separates vulnerable code from look-alike safe code, per CWE class.

Runs over the case corpus ``bench/deliver/cases/<class>/*.py``: each file starts with
``# expect: CWE-<n> vulnerable`` or ``# expect: CWE-<n> safe``. Three analysers are scored:

- ``bandit``: bandit alone (``bandit -f json -r``), each finding's CWE taken from bandit's own
  ``issue_cwe`` after the corrections in ``BANDIT_CWE_FIXES`` (bandit files XML parsing under CWE-20,
  ``yaml.load`` under CWE-20, MD5 under CWE-327 where CWE-328 is meant, ...);
- ``semgrep``: semgrep with finpilot's own rule pack only (``finpilot/deliver/_rules/semgrep``);
- ``gate``: the union of both, which is what ``finpilot gate run`` reports;
- ``gate_pack_first``: the union without bandit's blanket tests that the pack covers by data flow
  (``PACK_COVERED_BANDIT_TESTS``), a candidate gate configuration.

A file counts as flagged for its class when the analyser reports, anywhere in the file, a finding
whose CWE belongs to the class (``FAMILIES``: a class accepts its CWE and that CWE's named
children, e.g. CWE-330 accepts CWE-338). Per class: TP, FP, TN, FN, TPR, FPR and Youden's index
J = TPR - FPR (in %); overall: the mean J over classes (each class weighs the same, as in the
OWASP Benchmark's scorecards).

Prints ONE JSON object on stdout. Example:
    .venv/bin/python -m bench.deliver.bench_gate_quality > bench/out/gate-quality.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finpilot.deliver._rules import canonical_rule_id, semgrep_rule_dir

CASES = Path(__file__).parent / "cases"
_EXPECT = re.compile(r"^#\s*expect:\s*CWE-(\d+)\s+(vulnerable|safe)\s*$")
_CWE = re.compile(r"CWE-(\d+)")

# A class's CWE and the CWEs that MITRE files as its children (or the same weakness named narrower).
FAMILIES: dict[int, frozenset[int]] = {
    22: frozenset({22, 23, 36}),
    78: frozenset({78, 77}),
    79: frozenset({79, 80}),
    89: frozenset({89, 564}),
    90: frozenset({90}),
    295: frozenset({295, 297}),
    327: frozenset({327, 326, 780}),
    328: frozenset({328, 916}),
    330: frozenset({330, 338}),
    501: frozenset({501}),
    502: frozenset({502}),
    532: frozenset({532, 312}),
    611: frozenset({611, 776}),
    643: frozenset({643}),
    798: frozenset({798, 259, 321}),
    1339: frozenset({1339, 681}),
}

# bandit test id -> the CWE the finding is really about, where bandit's own issue_cwe is wrong or coarse.
BANDIT_CWE_FIXES: dict[str, int] = {
    "B303": 328,  # md5/sha1 (older bandit): bandit says 327 (cipher), a hash is 328
    "B324": 328,  # hashlib md5/sha1: same
    "B307": 95,  # eval: bandit says 78 (OS command), it is code injection
    "B308": 79,  # mark_safe: bandit says 79 already on some versions, 80 on others
    "B310": 939,  # urlopen with any scheme: bandit says 22
    "B313": 611,  # xml.etree / minidom / sax / expat / pulldom parsing: bandit says 20
    "B314": 611,
    "B315": 611,
    "B316": 611,
    "B317": 611,
    "B318": 611,
    "B319": 611,
    "B320": 611,
    "B405": 611,  # importing the stdlib XML parsers or lxml: bandit says 20
    "B406": 611,
    "B407": 611,
    "B408": 611,
    "B409": 611,
    "B410": 611,
    "B506": 502,  # yaml.load: bandit says 20, it is unsafe deserialisation
    "B701": 79,  # jinja2 autoescape=False: bandit says 94, it is XSS
    "B702": 79,  # mako templates: same
    "B703": 79,  # django mark_safe: bandit says 80 (a child of 79)
}


# bandit tests that flag a module or API wherever it appears (an import, any subprocess call, any use
# of `random`), with no data flow; where the pack checks the same class by data flow, a gate that
# keeps them only adds their false positives. ``gate_pack_first`` scores the gate without them.
PACK_COVERED_BANDIT_TESTS = frozenset(
    {"B311", "B403", "B404", "B405", "B406", "B407", "B408", "B409", "B410", "B411", "B413", "B603", "B607"}
)


@dataclass(frozen=True)
class Case:
    """One corpus file with its declared class and verdict."""

    path: Path
    klass: str
    cwe: int
    vulnerable: bool


def load_cases(root: Path) -> list[Case]:
    """Every case file under ``root``; a file without a valid ``# expect:`` first line is an error."""
    cases: list[Case] = []
    for path in sorted(root.glob("*/*.py")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        match = _EXPECT.match(first)
        if match is None:
            raise SystemExit(f"{path}: the first line must be '# expect: CWE-<n> vulnerable|safe'")
        cases.append(Case(path.resolve(), path.parent.name, int(match.group(1)), match.group(2) == "vulnerable"))
    return cases


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed: pip install 'finpilot[gates]'")
    return found


def run_bandit(cases: list[Case]) -> tuple[dict[Path, set[int]], dict[Path, set[int]], dict[str, Any]]:
    """Corrected CWEs per file from one bandit run (all tests; without the pack-covered ones) and the pairs seen."""
    proc = subprocess.run(
        [_tool("bandit"), "-f", "json", "-q", *(str(c.path) for c in cases)],
        capture_output=True,
        text=True,
        check=False,
    )
    out = json.loads(proc.stdout)
    found: dict[Path, set[int]] = {}
    narrowed: dict[Path, set[int]] = {}
    raw: dict[str, Any] = {}
    for result in out["results"]:
        test_id = result["test_id"]
        bandit_cwe = int(result.get("issue_cwe", {}).get("id", 0))
        cwe = BANDIT_CWE_FIXES.get(test_id, bandit_cwe)
        raw[test_id] = {"bandit_cwe": bandit_cwe, "used_cwe": cwe, "name": result["test_name"]}
        found.setdefault(Path(result["filename"]).resolve(), set()).add(cwe)
        if test_id not in PACK_COVERED_BANDIT_TESTS:
            narrowed.setdefault(Path(result["filename"]).resolve(), set()).add(cwe)
    return found, narrowed, dict(sorted(raw.items()))


def run_semgrep(cases: list[Case], severities: frozenset[str]) -> dict[Path, set[int]]:
    """CWEs per file from one semgrep run with finpilot's pack, counting the given severities."""
    env = {**os.environ, "SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"}
    proc = subprocess.run(
        [
            _tool("semgrep"),
            "scan",
            "--metrics=off",
            "--disable-version-check",
            "--json",
            "--quiet",
            "--no-git-ignore",
            "--config",
            str(semgrep_rule_dir()),
            *(str(c.path) for c in cases),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    out = json.loads(proc.stdout)
    if out["errors"]:
        raise SystemExit(f"semgrep reported errors: {out['errors'][:3]}")
    found: dict[Path, set[int]] = {}
    for result in out["results"]:
        if result["extra"]["severity"] not in severities:
            continue
        cwes = {int(m) for entry in result["extra"]["metadata"].get("cwe", []) for m in _CWE.findall(entry)}
        found.setdefault(Path(result["path"]).resolve(), set()).update(cwes)
        result["check_id"] = canonical_rule_id(result["check_id"])
    return found


def score(cases: Iterable[Case], found: dict[Path, set[int]]) -> dict[str, float | int]:
    """TP/FP/TN/FN, TPR, FPR and Youden's J (in %) of one analyser over one class's cases."""
    tp = fp = tn = fn = 0
    for case in cases:
        flagged = bool(found.get(case.path, set()) & FAMILIES.get(case.cwe, frozenset({case.cwe})))
        if case.vulnerable:
            tp, fn = tp + flagged, fn + (not flagged)
        else:
            fp, tn = fp + flagged, tn + (not flagged)
    tpr = 100.0 * tp / (tp + fn) if tp + fn else 0.0
    fpr = 100.0 * fp / (fp + tn) if fp + tn else 0.0
    return {
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "tpr": round(tpr, 1),
        "fpr": round(fpr, 1),
        "youden": round(tpr - fpr, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Score bandit, the pack and the gate over the corpus; print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=CASES, help="corpus root (default: bench/deliver/cases)")
    parser.add_argument(
        "--errors-only", action="store_true", help="count only the pack's ERROR findings (the default gate policy)"
    )
    parser.add_argument("--with-info", action="store_true", help="count the pack's INFO (audit) findings too")
    args = parser.parse_args(argv)
    cases = load_cases(args.cases)
    severities = frozenset(
        {"ERROR"} if args.errors_only else {"ERROR", "WARNING", "INFO"} if args.with_info else {"ERROR", "WARNING"}
    )
    started = time.perf_counter()
    bandit, bandit_narrowed, bandit_raw = run_bandit(cases)
    bandit_s = time.perf_counter() - started
    started = time.perf_counter()
    semgrep = run_semgrep(cases, severities)
    semgrep_s = time.perf_counter() - started
    gate = {path: bandit.get(path, set()) | semgrep.get(path, set()) for path in {*bandit, *semgrep}}
    pack_first = {
        path: bandit_narrowed.get(path, set()) | semgrep.get(path, set()) for path in {*bandit_narrowed, *semgrep}
    }
    classes: dict[str, Any] = {}
    for klass in sorted({c.klass for c in cases}):
        mine = [c for c in cases if c.klass == klass]
        classes[klass] = {
            "cwe": f"CWE-{mine[0].cwe}",
            "cases": len(mine),
            "bandit": score(mine, bandit),
            "semgrep": score(mine, semgrep),
            "gate": score(mine, gate),
            "gate_pack_first": score(mine, pack_first),
        }
    overall = {
        tool: round(sum(float(c[tool]["youden"]) for c in classes.values()) / len(classes), 1)
        for tool in ("bandit", "semgrep", "gate", "gate_pack_first")
    }
    print(
        json.dumps(
            {
                "benchmark": "gate_quality",
                "cases": len(cases),
                "severities": sorted(severities),
                "overall_youden": overall,
                "classes": classes,
                "bandit_tests_seen": bandit_raw,
                "pack_covered_bandit_tests": sorted(PACK_COVERED_BANDIT_TESTS),
                "seconds": {"bandit": round(bandit_s, 1), "semgrep": round(semgrep_s, 1)},
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
