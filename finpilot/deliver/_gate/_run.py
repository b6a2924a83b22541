"""One gate run: list files, run the scanners (cached, concurrently), normalise, dedup, baseline, waive, decide."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from finpilot.core import InputError, redact_digit_runs
from finpilot.deliver._gate._bandit import BanditScanner
from finpilot.deliver._gate._cache import ResultCache, files_digest
from finpilot.deliver._gate._checkov import CheckovScanner
from finpilot.deliver._gate._config import GateConfig, ScannerName
from finpilot.deliver._gate._deps import DepsScanner
from finpilot.deliver._gate._finding import SEVERITIES, Finding, RawFinding, fingerprint
from finpilot.deliver._gate._report import GateResult, ScannerRun
from finpilot.deliver._gate._scanner import Scanner, ScanTarget, find_program
from finpilot.deliver._gate._secrets import SecretsScanner
from finpilot.deliver._gate._semgrep import SemgrepScanner
from finpilot.deliver._gate._waivers import Waiver
from finpilot.policy import PolicyEngine


def list_files(root: Path, exclude: Sequence[str], skip: Path | None = None) -> list[str]:
    """Every regular file under ``root`` (relative, POSIX, sorted), skipping excluded names, symlinks and ``skip``."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if not any(fnmatch(d, pat) for pat in exclude) and Path(dirpath, d) != skip
        )
        for name in filenames:
            full = Path(dirpath) / name
            if any(fnmatch(name, pat) for pat in exclude) or full.is_symlink() or not full.is_file():
                continue
            found.append(full.relative_to(root).as_posix())
    return sorted(found)


def make_scanner(name: ScannerName, root: Path, config: GateConfig) -> Scanner:
    """The adapter for ``name`` with its settings."""
    if name == "bandit":
        return BanditScanner(root)
    if name == "semgrep":
        return SemgrepScanner(config.semgrep.rules)
    if name == "detect-secrets":
        return SecretsScanner(root)
    if name == "checkov":
        return CheckovScanner()
    return DepsScanner(
        advisories=config.deps.advisories, probe_url=config.deps.probe_url, probe_timeout_s=config.deps.probe_timeout_s
    )


@dataclass(frozen=True)
class _Scanned:
    run: ScannerRun
    findings: list[RawFinding]


def _scan_one(scanner: Scanner, root: Path, files: list[str], cache: ResultCache, timeout_s: float) -> _Scanned:
    began = time.perf_counter()
    program = find_program(scanner.program) if not isinstance(scanner, DepsScanner) or scanner.online() else None
    # Asking checkov for its version alone takes seconds: a loaded machine must not fail the gate on it.
    version = cache.version(program, lambda: scanner.version(timeout_s)) if program else scanner.version(timeout_s)
    selected = scanner.select(files)
    key = cache.key(scanner.name, version, scanner.settings_digest(), files_digest(root, selected))
    hit = cache.get(scanner.name, key)
    if hit is not None:
        found, source = hit
        cached = True
    else:
        out_dir = cache.folder / "out"
        out_dir.mkdir(exist_ok=True)
        outcome = scanner.scan(ScanTarget(root, tuple(selected), out_dir), timeout_s=timeout_s)
        found, source, cached = list(outcome.findings), outcome.source, False
        cache.put(scanner.name, key, found, source)
    run = ScannerRun(scanner.name, version, len(found), cached, time.perf_counter() - began, source)
    return _Scanned(run, found)


def _context(root: Path, file: str, line: int, cache: dict[str, list[str]]) -> str:
    if file not in cache:
        try:
            cache[file] = (root / file).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            cache[file] = []
    lines = cache[file]
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _groups(raw: Sequence[RawFinding]) -> list[list[RawFinding]]:
    # Findings of different tools with the same CWE, file and line are one flaw; two rules of
    # one tool on one line (checkov's checks of one resource) stay apart.
    groups: list[list[RawFinding]] = []
    by_place: dict[tuple[str, str, int], list[list[RawFinding]]] = {}
    for r in sorted(raw, key=lambda r: (r.file, r.line, r.tool, r.rule)):
        if r.cwe is None:
            groups.append([r])
            continue
        places = by_place.setdefault((r.cwe, r.file, r.line), [])
        group = next((g for g in places if all(x.tool != r.tool for x in g)), None)
        if group is None:
            group = []
            places.append(group)
            groups.append(group)
        group.append(r)
    return groups


def normalise(root: Path, raw: Sequence[RawFinding]) -> list[Finding]:
    """Fingerprint every finding and merge those that tools agree on (same CWE, file and line)."""
    texts: dict[str, list[str]] = {}
    findings = []
    seen: dict[str, int] = {}
    for group in _groups(raw):
        first = group[0]  # the alphabetically first tool names the flaw and keys its fingerprint
        worst = min(group, key=lambda r: SEVERITIES.index(r.severity) if r.severity in SEVERITIES else 2)
        context = _context(root, first.file, first.line, texts)
        base = fingerprint(f"{first.tool}/{first.rule}", first.file, context)
        occurrence = seen.get(base, 0)
        seen[base] = occurrence + 1
        findings.append(
            Finding(
                tool=first.tool,
                rule=first.rule,
                severity=worst.severity if worst.severity in SEVERITIES else "medium",
                file=first.file,
                line=first.line,
                # A rule's message may interpolate the code it matched: never let a card number through.
                message=redact_digit_runs(worst.message)[:500],
                cwe=first.cwe,
                fingerprint=fingerprint(f"{first.tool}/{first.rule}", first.file, context, occurrence),
                rules=tuple(dict.fromkeys(f"{r.tool}:{r.rule}" for r in group)),
            )
        )
    return findings


def run_gate(
    root: Path,
    config: GateConfig | None = None,
    *,
    baseline: frozenset[str] = frozenset(),
    waivers: Sequence[Waiver] = (),
    today: dt.date | None = None,
) -> GateResult:
    """Scan ``root`` and decide; raises ``ScannerMissingError``/``ScannerError`` rather than ever passing blind."""
    began = time.perf_counter()
    config = config or GateConfig()
    if not root.is_dir():
        raise InputError(f"{root} is not a directory", field="PATH", fix="name the project directory to scan")
    root = root.resolve()
    today = today or dt.datetime.now(dt.UTC).date()
    policy = (
        PolicyEngine.from_file(Path(config.policy), "gate") if config.policy.endswith(".rego")
        else PolicyEngine.load(config.policy)
    )  # fmt: skip
    scanners = [make_scanner(n, root, config) for n in dict.fromkeys(config.scanners)]
    for s in scanners:  # every missing program is reported before any scan starts
        if not isinstance(s, DepsScanner) or s.online():
            find_program(s.program)
    cache = ResultCache((config.cache_dir or root / ".finpilot" / "cache" / "gate").resolve())
    files = list_files(root, config.exclude, skip=cache.folder)  # the cache's own files never key the cache
    with ThreadPoolExecutor(max_workers=len(scanners)) as pool:  # threads wait on subprocesses
        futures = [pool.submit(_scan_one, s, root, files, cache, config.timeout_s) for s in scanners]
        scanned = [f.result() for f in futures]
    findings = normalise(root, [r for s in scanned for r in s.findings])
    expired = [w for w in waivers if w.expired(today)]
    live = [w for w in waivers if not w.expired(today)]
    applied: dict[str, None] = {}
    decided = []
    for f in findings:
        waiver = next((w for w in live if w.covers(f)), None)
        if waiver is not None:
            applied[waiver.id] = None
        decided.append(f.with_(baselined=f.fingerprint in baseline, waived_by=waiver.id if waiver else None))
    # An expired waiver that still matches a finding fails the gate; one whose finding is gone is named too.
    decision = policy.evaluate(
        {
            "findings": [
                {
                    "fingerprint": f.fingerprint, "tool": f.tool, "rule": f.rule, "cwe": f.cwe,
                    "severity": f.severity, "file": f.file, "line": f.line, "waived": f.waived,
                    "baselined": f.baselined,
                }
                for f in decided
            ],
            "waivers_expired": [{"id": w.id, "expires": w.expires.isoformat()} for w in expired],
        }
    )  # fmt: skip
    mapping = decision.details.get("findings", {})
    final = []
    for f in decided:
        m = mapping.get(f.fingerprint, {})
        final.append(
            f.with_(action=m.get("action", "pass"), pci=tuple(m.get("pci", ())), gdpr=tuple(m.get("gdpr", ())))
        )
    final.sort(key=lambda f: ({"fail": 0, "warn": 1}.get(f.action, 2), SEVERITIES.index(f.severity), f.file, f.line))
    return GateResult(
        verdict=decision.verdict,
        reasons=decision.reasons,
        findings=tuple(final),
        scanners=tuple(s.run for s in scanned),
        policy_id=decision.policy_id,
        policy_digest=decision.policy_digest,
        waivers_applied=tuple(applied),
        waivers_expired=tuple(w.id for w in expired),
        duration_s=time.perf_counter() - began,
        root=str(root),
    )
