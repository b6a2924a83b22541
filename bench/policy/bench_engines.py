"""Rego (regopy) against CEL (cel-expr-python) for finpilot's policy engine: prints ONE JSON object.

Both engines get the same two decisions: the security gate over ``--findings`` findings (each
finding's action and controls, the verdict and its reasons) and one canary rollout step (the
judge's verdict and where the rollout stands to an action). Reported per engine: the time to
load and compile the policy, and the median time per decision over ``--rounds`` evaluations
(input conversion included, as the engine's caller pays it), plus the policy's size in lines as
a rough measure of how directly each language says the mapping. CEL (``cel-expr-python``) is
no longer a finpilot dependency since Rego won; install it to rerun the comparison. Run::

    .venv/bin/python -m bench.policy.bench_engines --findings 200 --rounds 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cel_expr_python import cel
from regopy import Interpreter

_POLICIES = Path(__file__).resolve().parents[2] / "finpilot" / "policy" / "policies"

# The CEL twin of gate.rego. CEL has no functions or local bindings in this build, so the
# action expression is spelled out where it is used, and the tables come in as variables.
_CEL_ACTION = (
    '((f.waived || f.baselined) ? "pass" : '
    '((f.cwe != null && f.cwe in blocking) || rank[f.severity] >= 3) ? "fail" : '
    'rank[f.severity] == 2 ? "warn" : "pass")'
)
_CEL_GATE = f"""{{
  "findings": input.findings.map(f, {{
    "fingerprint": f.fingerprint,
    "action": {_CEL_ACTION},
    "pci": (f.cwe != null && f.cwe in controls) ? controls[f.cwe].pci
         : (f.tool in tool_controls ? tool_controls[f.tool].pci : ["6.2.4"]),
    "gdpr": (f.cwe != null && f.cwe in controls) ? controls[f.cwe].gdpr
         : (f.tool in tool_controls ? tool_controls[f.tool].gdpr : [])}}),
  "reasons": input.waivers_expired.map(w, "waiver " + w.id + " expired on " + w.expires)
    + input.findings.filter(f, {_CEL_ACTION} == "fail").map(f,
        f.tool + " " + f.rule + " (" + f.severity + ") at " + f.file + ":" + string(f.line))
    + input.findings.filter(f, {_CEL_ACTION} == "warn").map(f,
        f.tool + " " + f.rule + " (" + f.severity + ") at " + f.file + ":" + string(f.line)),
  "verdict": (size(input.waivers_expired) > 0 || input.findings.exists(f, {_CEL_ACTION} == "fail")) ? "fail"
    : input.findings.exists(f, {_CEL_ACTION} == "warn") ? "warn" : "pass"
}}"""
_CEL_ROLLOUT = """{
  "verdict": input.judgement == "fail" ? "rollback"
    : (input.judgement == "inconclusive" && input.inconclusive_in_a_row >= input.max_inconclusive) ? "rollback"
    : input.judgement == "inconclusive" ? "hold"
    : input.step + 1 >= input.steps ? "promote" : "advance",
  "reasons": ["judge said " + input.judgement + " at step " + string(input.step + 1) + " of " + string(input.steps)]
}"""


def _rego_tables() -> dict[str, Any]:
    # The tables are read back from gate.rego itself so that both engines map with the same data.
    rego = Interpreter()
    rego.add_module("gate", (_POLICIES / "gate.rego").read_text())
    out: dict[str, Any] = {}
    for name in ("controls", "tool_controls", "blocking", "rank"):
        out[name] = json.loads(str(rego.query(f"x = data.finpilot.gate.{name}")))["bindings"]["x"]
    return out


def gate_input(n: int) -> dict[str, Any]:
    """A realistic gate input: ``n`` findings over a few tools, CWEs and severities, some waived."""
    cwes = ["CWE-89", "CWE-532", None, "CWE-798", "CWE-295", "CWE-1395", "CWE-999"]
    tools = ["semgrep", "bandit", "detect-secrets", "checkov", "deps"]
    findings = [
        {
            "fingerprint": f"{i:032x}",
            "tool": tools[i % len(tools)],
            "rule": f"rule-{i % 17}",
            "cwe": cwes[i % len(cwes)],
            "severity": ["critical", "high", "medium", "low", "info"][i % 5],
            "file": f"src/mod{i % 23}.py",
            "line": 1 + i,
            "waived": i % 11 == 0,
            "baselined": i % 5 == 0,
        }
        for i in range(n)
    ]
    return {"findings": findings, "waivers_expired": [{"id": "W-1", "expires": "2026-01-01"}]}


ROLLOUT_INPUT = {"judgement": "pass", "step": 2, "steps": 4, "inconclusive_in_a_row": 0, "max_inconclusive": 2}


def _median_s(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def _rego(policy: str, package: str, data: dict[str, Any], rounds: int) -> tuple[float, float, Any]:
    began = time.perf_counter()
    rego = Interpreter()
    rego.add_module(package, (_POLICIES / policy).read_text())
    rego.set_input({})
    rego.query(f"x = data.finpilot.{package}.decision")  # compile on first query
    load = time.perf_counter() - began

    def once() -> Any:
        rego.set_input(data)
        return json.loads(str(rego.query(f"x = data.finpilot.{package}.decision")))["bindings"]["x"]

    return load, _median_s(once, rounds), once()


def _cel(source: str, tables: dict[str, Any], data: dict[str, Any], rounds: int) -> tuple[float, float, Any]:
    began = time.perf_counter()
    names = ["input", *tables]
    env = cel.NewEnv(variables=dict.fromkeys(names, cel.Type.DYN))
    expr = env.compile(source)
    load = time.perf_counter() - began

    def once() -> Any:
        return expr.eval(data={"input": data, **tables}).plain_value()

    return load, _median_s(once, rounds), once()


def main() -> None:
    """Measure both engines on both decisions and print the JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    tables = _rego_tables()
    tables["blocking"] = sorted(tables["blocking"])
    gate = gate_input(args.findings)
    results: dict[str, Any] = {"findings": args.findings, "rounds": args.rounds, "engines": {}}
    rg = _rego("gate.rego", "gate", gate, args.rounds)
    rr = _rego("rollout.rego", "rollout", ROLLOUT_INPUT, args.rounds)
    cg = _cel(_CEL_GATE, tables, gate, args.rounds)
    cr = _cel(_CEL_ROLLOUT, {}, ROLLOUT_INPUT, args.rounds)
    # Both must reach the same verdicts and per-finding actions, or the timing compares nothing.
    rego_actions = {k: v["action"] for k, v in rg[2]["findings"].items()}
    cel_actions = {f["fingerprint"]: f["action"] for f in cg[2]["findings"]}
    agree = (
        rg[2]["verdict"] == cg[2]["verdict"] and rego_actions == cel_actions and rr[2]["verdict"] == cr[2]["verdict"]
    )
    rego_lines = sum(
        1
        for p in ("gate.rego", "rollout.rego")
        for line in (_POLICIES / p).read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    cel_lines = sum(1 for line in (_CEL_GATE + "\n" + _CEL_ROLLOUT).splitlines() if line.strip())
    for name, (g, r, lines) in {"rego": (rg, rr, rego_lines), "cel": (cg, cr, cel_lines)}.items():
        results["engines"][name] = {
            "gate_load_s": round(g[0], 5),
            "gate_decision_ms": round(g[1] * 1e3, 3),
            "rollout_load_s": round(r[0], 5),
            "rollout_decision_ms": round(r[1] * 1e3, 4),
            "policy_lines": lines,
        }
    results["engines"]["cel"]["policy_lines_note"] = "plus the tables, passed in as variables (read from gate.rego)"
    results["same_decisions"] = agree
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
