"""The shape of the whole CLI, walked from Typer's command tree so that a new command is covered.

For every command: it has help text, ``--help`` works, and it takes ``--json`` unless it is
declared in :data:`NO_JSON` with a reason. For every ``--json`` command: its top-level keys are
declared in :data:`SHAPES`, and its output is ONE JSON object with exactly those keys, whatever
the other flags (each run of :data:`STEPS` checks one variant). The commands that need a running
server are declared in :data:`NEEDS_SERVER`; for them the error a script sees with ``--json``
(no server running) is still one JSON object. docs/cli.md states the same rules for people.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from typer.testing import CliRunner

from finpilot.cli import app
from finpilot.cli._fraud_cmd import REPLAY_KEYS
from finpilot.core import Settings
from finpilot.deliver import RunRecord

Path_ = tuple[str, ...]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "heal"


def _walk(command: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, (*path, name))


TREE = dict(_walk(typer.main.get_command(app)))
"""Every group and command, by its path (``()`` is the root)."""
LEAVES = {path: command for path, command in TREE.items() if not hasattr(command, "commands")}
"""The commands that run (not groups)."""

NO_JSON: dict[Path_, str] = {
    ("up",): "runs the console in the foreground until stopped; it prints where to open it, not data",
    ("runtime", "up"): "runs the runtime in the foreground until stopped; `runtime status --json` reads it",
    ("db", "up"): "runs the database healer in the foreground until stopped; `db status --json` reads it",
    ("db", "down"): "stops both servers and prints one confirmation line, no data",
    ("k8s", "heal-nodes"): "a loop until stopped (--once for cron); what it does is audited, `audit tail --json`",
    ("config", "schema"): "its output is a JSON Schema document for editors, always JSON; a wrapper would break it",
    ("fraud", "scorer"): "one fraud scorer process in the foreground, started by `up`; it prints its URL, not data",
    ("fraud", "router"): "the fraud router in the foreground, started by `up`; it prints its URL, not data",
}
"""Commands that print no data, so take no ``--json``, each with the reason."""

_ERROR = frozenset({"error", "message", "field", "fix"})
"""The keys of the error object that ``--json`` prints on stdout when a command fails."""
_VERIFY_REPORT = frozenset(
    {
        "ok",
        "entries",
        "checkpoints",
        "first_bad_index",
        "problems",
        "notes",
        "tree_size",
        "latest_checkpoint_size",
        "kinds",
    }
)
_CHECKPOINT = frozenset({"seq", "tree_size", "root_hash", "note", "created_at"})
_REGISTRY = frozenset({"champion", "previous", "challenger", "audit_index"})
_ATTESTATION = frozenset(
    {"release", "artifact", "output", "key_id", "public_key", "payload_type", "predicate_type", "audit_index"}
)

_NAB_RUN = frozenset(
    {
        "detector",
        "standard",
        "reward_low_FP_rate",
        "reward_low_FN_rate",
        "thresholds",
        "raw",
        "files",
        "points",
        "seconds",
        "points_per_s",
        "points_per_s_per_core",
        "jobs",
    }
)
NAB_TINY = Path(__file__).resolve().parents[1] / "watch" / "nab" / "data" / "tiny"

SHAPES: dict[Path_, frozenset[str]] = {
    ("watch", "nab"): _NAB_RUN,
    ("watch", "detectors"): frozenset({"detectors"}),
    ("config", "check"): frozenset({"ok", "path"}),
    ("config", "show"): frozenset(Settings.model_fields),
    ("token", "create"): frozenset({"id", "name", "role", "token"}),
    ("token", "list"): frozenset({"tokens"}),
    ("token", "revoke"): frozenset({"id", "name", "role", "active", "created_at", "revoked_at", "last_used_at"}),
    ("audit", "append"): frozenset({"indices"}),
    ("audit", "tail"): frozenset({"entries"}),
    ("audit", "verify"): _VERIFY_REPORT,
    ("audit", "export"): frozenset(
        {"format", "origin", "hashing", "tree_size", "root_hash", "checkpoints", "signatures", "files", "exported_at"}
    ),
    ("audit", "verify-export"): _VERIFY_REPORT,
    ("audit", "prove"): frozenset(
        {"type", "index", "tree_size", "leaf_hash", "root_hash", "hashes", "checkpoint", "leaf_data"}
    ),
    ("audit", "consistency"): frozenset({"type", "old_size", "new_size", "old_root", "new_root", "hashes"}),
    ("audit", "checkpoint", "sign"): _CHECKPOINT,
    ("audit", "checkpoint", "list"): frozenset({"checkpoints"}),
    ("audit", "kinds"): frozenset({"kinds", "system_namespaces", "system_actors"}),
    ("audit", "public-key"): frozenset({"verifier_key", "pem"}),
    ("audit", "erase"): frozenset({"erased_indices", "record_index"}),
    ("backup", "create"): frozenset({"format", "header", "ciphertext"}),
    ("backup", "list"): frozenset({"backups"}),
    ("backup", "prune"): frozenset({"kept", "pruned", "unreadable", "problems", "dry_run"}),
    ("backup", "restore-drill"): frozenset(
        {
            "ok",
            "backup_id",
            "checks",
            "drilled_at",
            "ledger_entries",
            "restored_to",
            "rpo_s",
            "rto_s",
            "snapshot_started_at",
        }
    ),
    ("backup", "keygen"): frozenset({"path"}),
    ("k8s", "render"): frozenset({"objects", "files"}),
    ("runbook", "check"): frozenset({"dir", "runbooks"}),
    ("runbook", "list"): frozenset({"dir", "runbooks"}),
    ("rollout", "list"): frozenset({"rollouts"}),
    ("traffic", "csv"): frozenset({"path", "payments", "days", "seed"}),
    ("fraud", "train"): frozenset({"path", "version", "sha256", "training_window", "metrics", "audit_index"}),
    ("fraud", "model", "list"): frozenset({"models", "registry"}),
    ("fraud", "model", "promote"): _REGISTRY,
    ("fraud", "model", "rollback"): _REGISTRY,
    ("fraud", "drift"): frozenset(
        {"status", "signals", "model_version", "psi", "adwin", "csv", "window", "audit_index"}
    ),
    ("fraud", "retrain"): frozenset(
        {"verdict", "reasons", "challenger", "champion", "holdout", "policy", "training_window", "audit_index", "dir"}
    ),
    ("fraud", "replay"): REPLAY_KEYS,
    ("sbom",): frozenset(
        {"release", "artifact", "output", "format", "spec_version", "components", "source", "audit_index"}
    ),
    ("sign",): _ATTESTATION,
    ("provenance",): _ATTESTATION | {"build_type", "builder_id", "slsa_build_level", "source", "materials"},
    ("verify-artifact",): frozenset({"ok", "artifact", "signed", "checks", "failed"}),
    ("evidence", "pack"): frozenset(
        {"directory", "release", "entries", "files", "missing", "complete", "seal_index", "tree_size"}
    ),
    ("evidence", "verify"): frozenset(
        {"ok", "release", "entries", "files", "envelopes", "problems", "bad_files", "notes"}
    ),
    ("watch", "autoscale-sim"): frozenset({"trace", "model", "settings", "policies"}),
    ("watch", "forecast"): frozenset(
        {"trace", "model", "level", "step_s", "horizon", "observations", "gaps", "points"}
    ),
    ("rollout", "judge"): frozenset(
        {
            "verdict",
            "enough_data",
            "score",
            "reason",
            "baseline_requests",
            "canary_requests",
            "metrics",
            "slo_breaches",
            "correction",
            "step",
        }
    ),
    ("pipeline", "run"): frozenset(RunRecord.model_fields),
    ("pipeline", "list"): frozenset({"runs"}),
    ("pipeline", "show"): frozenset({*RunRecord.model_fields, "log"}),
    ("gate", "run"): frozenset(
        {
            "verdict",
            "reasons",
            "counts",
            "failing",
            "findings",
            "scanners",
            "advisory_source",
            "policy",
            "waivers",
            "duration_s",
            "root",
            "release",
            "sarif",
        }
    ),
    ("watch", "scrape"): frozenset({"store", "rounds", "targets"}),
    ("watch", "targets"): frozenset({"store", "targets"}),
    ("watch", "query"): frozenset({"store", "selector", "start", "end", "step", "series"}),
    ("watch", "alerts"): frozenset({"alerts", "pending_deliveries"}),
    ("watch", "alert-rules"): frozenset({"rules"}),
    ("watch", "silence", "add"): frozenset({"silence"}),
    ("watch", "silence", "list"): frozenset({"silences"}),
    ("watch", "silence", "expire"): frozenset({"silence"}),
}
"""The top-level keys of each ``--json`` command's one object (see :data:`NEEDS_SERVER` for the rest)."""

NEEDS_SERVER: dict[Path_, str] = {
    ("runtime", "status"): "the runtime's controller (tests/heal/test_runtime_*)",
    ("runtime", "apply"): "the runtime's controller",
    ("runtime", "rollback"): "the runtime's controller",
    ("node", "up"): "the runtime's controller",
    ("node", "drain"): "the runtime's controller",
    ("chaos", "kill"): "the runtime's controller",
    ("chaos", "hang"): "the runtime's controller",
    ("chaos", "latency"): "the runtime's controller",
    ("chaos", "node-down"): "the runtime's controller",
    ("chaos", "disk-full"): "the runtime's controller",
    ("demo",): "a running `finpilot up` (tests/cli/test_demo_tour.py)",
    ("db", "init"): "PostgreSQL binaries; minutes (tests/heal/test_db_failover.py)",
    ("db", "status"): "the PostgreSQL pair (tests/heal/test_db_failover.py)",
    ("watch", "alert-test"): "a sink that answers (tests/watch/alerts/test_watch_alert_cli.py)",
    ("chaos", "db-primary-down"): "the PostgreSQL pair (tests/heal/test_db_failover.py)",
    ("chaos", "drill"): "a demo stack under traffic; minutes (tests/heal/test_drill.py)",
    ("k8s", "apply"): "a Kubernetes API server",
    ("fraud", "serve"): "NATS, and runs until stopped (tests/fraud/test_nats_*.py)",
    ("fraud", "publish"): "NATS (tests/fraud/test_nats_cli.py)",
    ("traffic", "run"): "the payments service (tests/fraud/test_traffic_run.py)",
    ("rollout", "start"): "a running runtime under traffic (tests/deliver/rollout/test_cli.py)",
    ("rollout", "status"): "a rollout (tests/deliver/rollout/test_cli.py)",
    ("rollout", "promote"): "a running rollout (tests/deliver/rollout/test_cli.py)",
    ("rollout", "abort"): "a running rollout (tests/deliver/rollout/test_cli.py)",
    ("rollout", "pause"): "a running rollout (tests/deliver/rollout/test_cli.py)",
    ("rollout", "resume"): "a running rollout (tests/deliver/rollout/test_cli.py)",
}
"""``--json`` commands not run here, and what they need; ``_ERROR_STEPS`` checks their failure shape."""


def _has_json(command: Any) -> bool:
    return any("--json" in getattr(param, "opts", ()) for param in command.params)


@pytest.mark.parametrize("path", sorted(TREE), ids=lambda p: " ".join(p) or "finpilot")
def test_help(path: Path_) -> None:
    command = TREE[path]
    where = f"finpilot {' '.join(path)}".strip()
    assert (command.help or "").strip(), f"{where} has no help text"
    for param in command.params:
        if param.name != "help":
            assert (getattr(param, "help", None) or "").strip(), f"{where}: {param.name} has no help"
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


@pytest.mark.parametrize("path", sorted(LEAVES), ids=" ".join)
def test_every_data_command_takes_json(path: Path_) -> None:
    where = f"finpilot {' '.join(path)}"
    if path in NO_JSON:
        assert not _has_json(LEAVES[path]), f"{where} takes --json: take it out of NO_JSON"
        return
    assert _has_json(LEAVES[path]), f"{where} prints data but takes no --json (or declare it in NO_JSON, with why)"
    assert path in SHAPES or path in NEEDS_SERVER, f"{where}: declare its JSON keys in SHAPES"


def test_declarations_name_real_commands() -> None:
    stale = (set(SHAPES) | set(NO_JSON) | set(NEEDS_SERVER)) - set(LEAVES)
    assert not stale, f"declared but not commands (renamed?): {sorted(stale)}"
    assert not set(SHAPES) & set(NEEDS_SERVER), "a command is either run here (SHAPES) or needs a server"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[Path_, list[tuple[list[str], Any]]]:
    """Run :data:`STEPS` in order in one fresh data directory; each command's runs, by path."""
    root = tmp_path_factory.mktemp("cli-shape")
    data, work = root / "data", root / "cwd"
    work.mkdir()
    config = root / "finpilot.yaml"
    bare = root / "bare.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(data),
                "backup": {"key": {"file": str(root / "backup.key")}},
                "runbooks": {"dir": str(EXAMPLES / "runbooks")},
            }
        )
    )
    bare.write_text(yaml.safe_dump({"data_dir": str(data)}))
    pipeline = {"name": "shape", "steps": {"ok": {"type": "run", "command": ["true"]}}}
    (root / "pipeline.yaml").write_text(yaml.safe_dump({"pipeline": pipeline}))
    gate = root / "gate.yaml"  # bandit alone (the quick scanner), its cache outside the checkout
    gate.write_text(yaml.safe_dump({"scanners": ["bandit"], "cache_dir": str(root / "gate-cache")}))
    found: dict[Path_, list[tuple[list[str], Any]]] = {}
    names = {"root": str(root), "models": str(data / "models"), "examples": str(EXAMPLES)}
    names["judge"] = str(EXAMPLES.parent / "deliver" / "judge")
    names |= {"config": str(config), "bare": str(bare), "gate": str(gate), "nab": str(NAB_TINY)}
    with pytest.MonkeyPatch.context() as patch:
        # An empty working directory and no FINPILOT_* settings: only what each step says counts.
        patch.chdir(work)
        for name in ("FINPILOT_CONFIG", "FINPILOT_DATA_DIR"):
            patch.delenv(name, raising=False)
        runner = CliRunner()
        for step in STEPS:
            args = _fill(step, names)
            path = _command_path(args)
            if path is None:
                continue  # a command declared ahead of its arrival
            result = runner.invoke(app, ["--config", str(config), *args])
            assert result.exit_code in (0, 1), f"finpilot {' '.join(args)}: {result.output}"
            document = json.loads(result.stdout)
            found.setdefault(path, []).append((args, document))
            names.update(_remember(path, document))
    return found


def _fill(step: list[str], names: dict[str, str]) -> list[str]:
    # Not str.format: entry JSON in a step has braces of its own.
    filled = []
    for arg in step:
        text = arg
        for name, value in names.items():
            text = text.replace(f"{{{name}}}", value)
        filled.append(text)
    return filled


def _command_path(args: list[str]) -> Path_ | None:
    if args[:1] == ["--config"]:
        args = args[2:]  # a step's own config; the last --config given wins
    for n in range(len(args), 0, -1):
        if tuple(args[:n]) in LEAVES:
            return tuple(args[:n])
    return None


def _remember(path: Path_, document: dict[str, Any]) -> dict[str, str]:
    """Values later steps use, e.g. the id of the token just created."""
    if path == ("token", "create"):
        return {"token_id": document["id"]}
    if path == ("fraud", "train"):
        return {"trained": document["version"]}
    if path == ("pipeline", "run"):
        return {"pipeline_run": document["id"]}
    if path == ("watch", "silence", "add"):
        return {"silence_id": document["silence"]["id"]}
    return {}


ENTRY = json.dumps(
    {"kind": "custom.deploy", "actor": "ci", "action": "go", "subject": "service:a", "outcome": "ok", "evidence": {}}
)
ERASABLE = json.dumps(
    {
        "kind": "custom.review",  # a user's kind: system kinds may be closed to appends from outside
        "actor": "analyst:a",
        "action": "review",
        "subject": "account:1",
        "outcome": "review",
        "evidence": {"score": 0.5},
        "personal": {"name": "Ada L."},
        "data_subject": "customer:1",
    }
)

STEPS: list[list[str]] = [
    ["backup", "keygen", "{root}/backup.key", "--json"],
    ["config", "check", "{config}", "--json"],
    ["config", "show", "--json"],
    ["token", "create", "--role", "viewer", "--name", "a", "--json"],
    ["token", "list", "--json"],
    ["token", "revoke", "{token_id}", "--json"],
    ["audit", "append", "--json-entry", ENTRY, "--json"],
    ["audit", "append", "--json-entry", ERASABLE, "--json"],
    ["audit", "tail", "--json"],
    ["audit", "tail", "-n", "1", "--json"],
    ["audit", "checkpoint", "sign", "--json"],
    ["audit", "checkpoint", "list", "--json"],
    ["audit", "checkpoint", "list", "-n", "1", "--json"],
    ["audit", "prove", "0", "--json"],
    ["audit", "prove", "0", "--tree-size", "1", "--json"],
    ["audit", "consistency", "1", "--json"],
    ["audit", "public-key", "--json"],
    ["audit", "public-key", "--pem", "--json"],
    ["audit", "kinds", "--json"],
    ["audit", "verify", "--json"],
    ["audit", "export", "{root}/bundle", "--json"],
    ["audit", "verify-export", "{root}/bundle", "--json"],
    ["audit", "erase", "customer:1", "--yes", "--json"],
    ["backup", "create", "--json"],
    ["backup", "list", "--json"],
    ["backup", "prune", "--dry-run", "--json"],
    ["backup", "prune", "--json"],
    ["backup", "restore-drill", "--json"],
    ["k8s", "render", "--config", "{examples}/finpilot.yaml", "--json"],
    ["k8s", "render", "--config", "{examples}/finpilot.yaml", "--out", "{root}/k8s", "--json"],
    ["runbook", "check", "{examples}/runbooks", "--json"],
    ["runbook", "list", "--json"],
    ["rollout", "list", "--json"],
    ["--config", "{bare}", "runbook", "list", "--json"],  # no runbooks.dir: the same keys, an empty list
    ["traffic", "csv", "--out", "{root}/pay.csv", "--days", "24", "--customers", "40", "--terminals", "80", "--json"],
    ["fraud", "train", "--csv", "{root}/pay.csv", "--to", "2018-04-20", "--out", "{models}/first", "--json"],
    ["fraud", "model", "list", "--json"],
    ["fraud", "retrain", "--csv", "{root}/pay.csv", "--min-holdout-frauds", "1", "--json"],
    ["fraud", "model", "promote", "{trained}", "--json"],
    ["fraud", "model", "rollback", "--json"],
    ["fraud", "model", "list", "--json"],
    ["fraud", "drift", "--model", "{models}/first", "--csv", "{root}/pay.csv", "--warmup-days", "7", "--json"],
    ["fraud", "replay", "--csv", "{root}/pay.csv", "--protocol", "prequential", "--warmup-days", "10", "--json"],
    ["sbom", "{root}/k8s", "--out", "{root}/sbom.json", "--release", "shape-1", "--json"],
    ["sign", "{root}/pay.csv", "--out", "{root}/sig.json", "--release", "shape-1", "--json"],
    ["provenance", "{root}/pay.csv", "--out", "{root}/prov.json", "--release", "shape-1", "--json"],
    ["verify-artifact", "{root}/pay.csv", "--signature", "{root}/sig.json", "--json"],
    [
        "verify-artifact",
        "{root}/pay.csv",
        "--provenance",
        "{root}/prov.json",
        "--signature",
        "{root}/sig.json",
        "--public-key",
        "{root}/data/keys/release-signing.pub.pem",
        "--require-signature",
        "--json",
    ],
    ["evidence", "pack", "shape-1", "--out", "{root}/evidence", "--json"],
    ["evidence", "verify", "{root}/evidence", "--json"],
    ["rollout", "judge", "--baseline", "{judge}/baseline.csv", "--canary", "{judge}/canary-good.csv", "--json"],
    ["rollout", "judge", "--baseline", "{judge}/baseline.csv", "--canary", "{judge}/canary-tail.csv", "--json"],
    ["watch", "autoscale-sim", "--trace", "{examples}/../watch/traces/daily-load.csv", "--json"],
    ["watch", "forecast", "--trace", "{examples}/../watch/traces/daily-load.csv", "--horizon", "3", "--json"],
    [
        "rollout",
        "judge",
        "--baseline",
        "{judge}/baseline.csv",
        "--canary",
        "{judge}/canary-tail.csv",
        "--release",
        "r-1",
        "--json",
    ],
    ["pipeline", "run", "--file", "{root}/pipeline.yaml", "--json"],
    ["pipeline", "run", "--file", "{root}/pipeline.yaml", "--release", "shape-1.0", "--no-cache", "--json"],
    ["pipeline", "list", "--json"],
    ["pipeline", "show", "{pipeline_run}", "--json"],
    ["pipeline", "show", "{pipeline_run}", "--log", "ok", "--json"],
    ["gate", "run", "{examples}", "--sarif", "{root}/gate.sarif", "--config", "{gate}", "--json"],
    # A target nobody listens on: up 0, exit 1; the store still gets its synthetic series.
    ["watch", "scrape", "--target", "http://127.0.0.1:9/metrics", "--once", "--json"],
    ["watch", "targets", "--json"],
    ["watch", "query", "up", "--since", "5m", "--json"],
    ["watch", "query", "up", "--since", "5m", "--sum-by", "job", "--json"],
    ["watch", "detectors", "--json"],
    ["watch", "nab", "--data", "{nab}", "--jobs", "1", "--results-out", "{root}/nab-results", "--json"],
    ["watch", "nab", "--data", "{nab}", "--score-only", "{root}/nab-results", "--threshold", "0.99", "--json"],
    ["watch", "silence", "add", "--match", "service=payments", "--comment", "shape", "--json"],
    ["watch", "silence", "list", "--json"],
    ["watch", "silence", "expire", "{silence_id}", "--json"],
    ["watch", "alerts", "--json"],
    ["watch", "alert-rules", "--json"],
]
"""One scenario, in order: each step is a command line (``{name}`` filled in) run with ``--json``."""


def test_every_shape_is_run() -> None:
    run = {_command_path(step) for step in STEPS}
    missing = {path for path in SHAPES if path in LEAVES} - run
    assert not missing, f"add a step to STEPS for: {sorted(missing)}"


@pytest.mark.parametrize("path", sorted(SHAPES), ids=" ".join)
def test_json_is_one_object_with_the_declared_keys(path: Path_, runs: dict[Path_, list[tuple[list[str], Any]]]) -> None:
    for args, document in runs[path]:
        assert isinstance(document, dict), f"finpilot {' '.join(args)}: top level is {type(document).__name__}"
        assert set(document) == SHAPES[path], f"finpilot {' '.join(args)}: keys {sorted(document)}"


FAILING: dict[Path_, list[str] | None] = {
    ("runtime", "status"): [],
    ("runtime", "apply"): ["{config}"],
    ("runtime", "rollback"): [],
    ("node", "up"): ["n1"],
    ("node", "drain"): ["n1"],
    ("chaos", "kill"): ["payments"],
    ("chaos", "hang"): ["payments"],
    ("chaos", "latency"): ["payments", "5"],
    ("chaos", "node-down"): ["n1"],
    ("chaos", "disk-full"): ["n1"],
    ("demo",): [],
    ("db", "init"): [],  # no --ha: refused before anything starts
    ("db", "status"): None,  # it would probe whatever listens on db.ha's ports on this machine
    ("chaos", "db-primary-down"): None,  # it would kill whatever primary db.ha names on this machine
    ("chaos", "drill"): ["--faults", "meteor"],
    ("k8s", "apply"): ["--kubeconfig", "{config}.missing"],
    ("fraud", "serve"): ["--nats", "nats://127.0.0.1:1", "--worker-id", "w1"],  # no model: refused first
    ("fraud", "publish"): ["--csv", "{csv}", "--nats", "nats://127.0.0.1:1"],
    ("traffic", "run"): ["--url", "http://127.0.0.1:9", "--duration", "1"],  # port 9: refused at once
    ("rollout", "start"): ["payments", "--release", "r1"],  # no runtime runs for this data dir
    ("rollout", "status"): [],  # no rollout yet
    ("rollout", "promote"): ["nope"],
    ("rollout", "abort"): ["nope"],
    ("rollout", "pause"): ["nope"],
    ("rollout", "resume"): ["nope"],
    ("watch", "alert-test"): ["--sink", "nope"],  # no sink is configured: refused before sending
}
"""How each :data:`NEEDS_SERVER` command fails fast here (``None``: it is not safe to try)."""


def test_every_server_command_has_a_failing_run() -> None:
    assert set(FAILING) == set(NEEDS_SERVER)


# The two that would act on whatever PostgreSQL db.ha names on this machine are covered by
# tests/heal/test_db_failover.py against a pair of their own, not here.
@pytest.mark.parametrize("path", sorted(p for p in NEEDS_SERVER if FAILING.get(p) is not None), ids=" ".join)
def test_without_its_server_the_json_error_is_one_object(
    path: Path_, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = FAILING[path]
    assert extra is not None
    monkeypatch.chdir(tmp_path)
    for name in ("FINPILOT_CONFIG", "FINPILOT_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "finpilot.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data")}))
    csv = tmp_path / "pay.csv"
    csv.write_text("TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD\n")
    args = [*path, *_fill(extra, {"config": str(config), "csv": str(csv)}), "--json"]
    result = CliRunner().invoke(app, ["--config", str(config), *args])
    assert result.exit_code in (1, 2), result.output
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    assert set(document) == _ERROR, f"finpilot {' '.join(args)}: {document}"
