"""``finpilot gate run``: the security gate over a tree; exit 1 when it fails, 2 on bad input or a missing scanner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from finpilot.audit.kinds import DELIVER_GATE
from finpilot.cli._context import cli_actor, cli_state, ledger_for
from finpilot.cli._errors import EXIT_FAILED
from finpilot.cli._output import JsonFlag, busy, out, print_json, table
from finpilot.core import InputError
from finpilot.deliver import (
    GateConfig,
    GateResult,
    check_release,
    file_digest,
    junit_xml,
    load_baseline,
    load_waivers,
    markdown,
    run_gate,
    to_sarif,
)

gate_app = typer.Typer(
    help="Security and compliance gates: scanners, one SARIF file, baselines, waivers, policy.", no_args_is_help=True
)
"""The ``gate`` command group."""

_STYLE = {"fail": "red", "warn": "yellow", "pass": "green"}  # nosec B105 - verdict colours, not a password


def _ref(path: Path | None) -> dict[str, str] | None:
    if path is None:
        return None
    # Absolute: `finpilot evidence pack` runs from anywhere and must find the file again.
    return {"path": str(path.resolve()), "digest": file_digest(path)}


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as err:
        raise InputError(f"cannot write {path}: {err.strerror}", field=str(path), fix="name a writable file") from None


def _evidence(result: GateResult, release: str | None, files: dict[str, Path | None]) -> dict[str, Any]:
    summary = result.to_json()
    return {
        "verdict": result.verdict,
        "release": release,
        "counts": summary["counts"],
        "failing": summary["failing"],
        "sarif": _ref(files["sarif"]),
        "scanners": [
            {"name": s.name, "version": s.version, "cached": s.cached, "findings": s.findings, "source": s.source}
            for s in result.scanners
        ],
        "policy_id": result.policy_id,
        "policy_digest": result.policy_digest,
        "waivers_applied": list(result.waivers_applied),
        "waivers_expired": list(result.waivers_expired),
        "waivers": _ref(files["waivers"]),
        "baseline": _ref(files["baseline"]),
        "config": _ref(files["config"]),
        "duration_s": round(result.duration_s, 3),
    }


def _show(result: GateResult) -> None:
    console = out()
    grid = table("action", "severity", "rule", "CWE", "where", "PCI DSS", title=f"Security gate: {result.verdict}")
    for f in result.findings:
        state = f.action + (" (waived)" if f.waived else " (baseline)" if f.baselined else "")
        grid.add_row(
            f"[{_STYLE.get(f.action, 'white')}]{state}[/]", f.severity, escape(", ".join(f.rules)), f.cwe or "",
            escape(f"{f.file}:{f.line}"), ", ".join(f.pci),
        )  # fmt: skip
    console.print(grid)
    for reason in result.reasons:
        console.print(f"- {escape(reason)}")
    scanners = ", ".join(f"{s.name} {s.version}{' (cached)' if s.cached else ''}" for s in result.scanners)
    console.print(f"scanners: {escape(scanners)}")
    if result.advisory_source():
        console.print(f"dependency advisories: {escape(result.advisory_source() or '')}")
    console.print(
        f"[bold {_STYLE.get(result.verdict, 'white')}]{result.verdict.upper()}[/] in {result.duration_s:.1f} s"
    )


@gate_app.command("run")
def run(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(file_okay=False, help="The tree to scan (a project, or rendered manifests).")],
    sarif: Annotated[Path, typer.Option("--sarif", dir_okay=False, help="Write the merged SARIF 2.1.0 file here.")],
    config: Annotated[Path | None, typer.Option("--config", dir_okay=False, help="Gate config (YAML).")] = None,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", dir_okay=False, help="Earlier gate SARIF: only new findings fail.")
    ] = None,
    waivers: Annotated[Path | None, typer.Option("--waivers", dir_okay=False, help="Waivers (YAML).")] = None,
    junit: Annotated[Path | None, typer.Option("--junit", dir_okay=False, help="Write a JUnit XML summary.")] = None,
    report: Annotated[Path | None, typer.Option("--report", dir_okay=False, help="Write a Markdown report.")] = None,
    release: Annotated[str | None, typer.Option("--release", help="The release this gate is about.")] = None,
    no_audit: Annotated[bool, typer.Option("--no-audit", help="Do not append a deliver.gate audit entry.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Run the scanners over PATH, write one SARIF file and decide; exit 1 when the gate fails."""
    check_release(release)
    gate_config = GateConfig.load(config) if config else GateConfig()
    known = load_baseline(baseline) if baseline else frozenset()
    waiver_list = load_waivers(waivers) if waivers else []
    with busy("scanning"):
        result = run_gate(path, gate_config, baseline=known, waivers=waiver_list)
    _write(sarif, json.dumps(to_sarif(result, baseline_used=baseline is not None), indent=2).encode())
    if junit:
        _write(junit, junit_xml(result))
    if report:
        _write(report, markdown(result).encode())
    # Audited when finpilot has a data dir to write to (--data-dir, or a config file naming one).
    state = cli_state(ctx)
    if not no_audit and (state.data_dir is not None or state.config_file() is not None):
        files = {"sarif": sarif, "waivers": waivers, "baseline": baseline, "config": config}
        with ledger_for(ctx) as ledger:
            ledger.append(
                DELIVER_GATE.entry(
                    actor=cli_actor(),
                    action="gate",
                    subject=f"release:{release}" if release else f"path:{path.resolve().name or 'root'}",
                    outcome=result.verdict,
                    evidence=_evidence(result, release, files),
                )
            )
    if as_json:
        print_json({**result.to_json(), "release": release, "sarif": str(sarif)})
    else:
        _show(result)
    if result.verdict == "fail":
        raise typer.Exit(EXIT_FAILED)
