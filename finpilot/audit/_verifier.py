"""Verification that needs no database: recompute the tree, check tiles and signed checkpoints.

This module is what an auditor runs on an exported bundle, so it imports nothing that
opens storage (an import-linter contract holds that). The ledger's own ``verify`` feeds
the same :class:`TreeVerifier` from its store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from finpilot.audit._kind import KINDS
from finpilot.audit._merkle import verify_consistency, verify_inclusion
from finpilot.audit._note import Verifier, open_checkpoint
from finpilot.audit._system import in_system_namespace
from finpilot.audit._tiles import HASH, HEIGHT, WIDTH, TreeState, split_hashes
from finpilot.core import InputError, safe_child

_MAX_PROBLEMS = 100
BUNDLE_FORMAT = "finpilot-audit-bundle/1"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing verification found wrong. ``index`` is the first entry index it puts in doubt."""

    where: str
    index: int
    detail: str
    checkpoint: int | None = None

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "where": self.where,
            "index": self.index,
            "detail": self.detail,
            "checkpoint": self.checkpoint,
        }


@dataclass(slots=True)
class VerifyReport:
    """The outcome of a full verification."""

    entries: int = 0
    checkpoints: int = 0
    tree_size: int = 0
    latest_checkpoint_size: int | None = None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kinds: dict[str, list[int]] = field(default_factory=dict)
    """Per entry kind, ``[entries, conforming, not_by_finpilot]``: how many of its entries fit the kind as
    declared today, and, in finpilot's system namespaces, how many finpilot did not write
    (:meth:`KindRegistry.written_by_system` is false: it rebuilds no state from them)."""

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    @property
    def first_bad_index(self) -> int | None:
        """The lowest entry index any problem puts in doubt."""
        return min((p.index for p in self.problems), default=None)

    def add(self, problem: Problem) -> None:
        """Record a problem (only the first hundred are kept)."""
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(problem)

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "ok": self.ok,
            "entries": self.entries,
            "tree_size": self.tree_size,
            "checkpoints": self.checkpoints,
            "latest_checkpoint_size": self.latest_checkpoint_size,
            "first_bad_index": self.first_bad_index,
            "problems": [p.to_json() for p in sorted(self.problems, key=lambda p: p.index)],
            "notes": self.notes,
            "kinds": {
                name: {
                    "entries": counts[0],
                    "conform": counts[1],
                    "declared": name in KINDS,
                    "system_namespace": in_system_namespace(name),
                    "not_by_finpilot": counts[2],
                }
                for name, counts in sorted(self.kinds.items())
            },
        }


class TreeVerifier:
    """Recompute the tree from leaf hashes, compare every tile with the stored one, and
    remember the root at each size a checkpoint claims."""

    def __init__(
        self,
        report: VerifyReport,
        sizes: Iterable[int],
        fetch_tile: Callable[[int, int], bytes | None] | None = None,
    ) -> None:
        self.report = report
        self._fetch = fetch_tile
        self._want = sorted(set(sizes))
        self._want_pos = 0
        self.roots: dict[int, bytes] = {}
        self._state = TreeState(on_tile=self._check_tile if fetch_tile is not None else None)
        self._bad: list[tuple[int, int]] = []  # ranges already reported, to suppress knock-on mismatches

    @property
    def size(self) -> int:
        """Leaves fed so far."""
        return self._state.size

    def _doubt(self, start: int, end: int) -> bool:
        return any(a < end and start < b for a, b in self._bad)

    def _check_tile(self, level: int, tile: int, hashes: list[bytes]) -> None:
        assert self._fetch is not None
        stored = self._fetch(level, tile)
        computed = b"".join(hashes)
        if stored is not None and stored == computed:
            return
        span = 1 << (HEIGHT * level)
        stored_hashes = split_hashes(stored or b"")
        for pos, h in enumerate(hashes):
            if pos >= len(stored_hashes) or stored_hashes[pos] != h:
                start = (tile * WIDTH + pos) * span
                # A bad leaf also spoils every tile above it; report only the lowest cause.
                if not self._doubt(start, start + span):
                    what = "is missing" if pos >= len(stored_hashes) else "differs from the entries"
                    self.report.add(Problem("hash", start, f"stored hash at tile {level}/{tile}[{pos}] {what}"))
                    self._bad.append((start, start + span))
                return
        if stored is not None and len(stored) > len(computed):
            # Extra stored hashes mean the log got shorter than its tiles: the first doubt is
            # where the readable entries stop, not inside the range they still cover.
            start = max((tile * WIDTH + len(hashes)) * span, self.size)
            self.report.add(Problem("hash", start, f"tile {level}/{tile} holds hashes beyond the end of the log"))
            self._bad.append((start, start + span))

    def feed(self, leaves: list[bytes], first: int) -> None:
        """Feed leaf hashes ``first..``; ``first`` must be where the last call stopped."""
        state = self._state
        if first != state.size:
            raise ValueError("leaves must be fed in order")
        pos = 0
        want = self._want
        while pos < len(leaves):
            stop = len(leaves)
            if self._want_pos < len(want):
                stop = min(stop, want[self._want_pos] - state.size + pos)
            if stop > pos:
                state.push_many(leaves[pos:stop])
                pos = stop
            while self._want_pos < len(want) and want[self._want_pos] <= state.size:
                if want[self._want_pos] == state.size:
                    self.roots[state.size] = state.root()
                self._want_pos += 1

    def finish(self) -> bytes:
        """Compare the partial tiles and return the root of everything fed."""
        if self._fetch is not None:
            for level, index, acc in self._state.partial_tiles():
                self._check_tile(level, index, acc)
        return self._state.root()


def check_checkpoints(
    report: VerifyReport,
    rows: Sequence[tuple[int, int, bytes | None, str]],
    roots: dict[int, bytes],
    verifier: Verifier,
    origin: str | None,
    verified_size: int,
    stored_root: Callable[[int], bytes | None] | None = None,
) -> None:
    """Check signatures, order and roots of checkpoints ``(seq, size, stored root or None, note)``.

    ``stored_root(size)`` gives the root the *stored* tiles hash to. When it still equals a
    signed root that the entries no longer match, the tiles are authentic and the tile check
    has already named the exact bad entry, so the checkpoint adds no coarser problem.
    """
    prev_seq, prev_size = 0, 0
    for seq, size, root_col, note in rows:
        report.checkpoints += 1
        if seq != prev_seq + 1:
            report.add(Problem("checkpoint", prev_size, f"checkpoint {prev_seq + 1} is missing", prev_seq + 1))
        try:
            cp = open_checkpoint(note, verifier)
        except ValueError as exc:
            report.add(Problem("checkpoint", prev_size, f"checkpoint {seq}: {exc}", seq))
            prev_seq = seq
            continue
        if origin is not None and cp.origin != origin:
            report.add(Problem("checkpoint", prev_size, f"checkpoint {seq} names origin {cp.origin!r}", seq))
        if cp.size != size or (root_col is not None and cp.root != root_col):
            report.add(
                Problem(
                    "checkpoint",
                    prev_size,
                    f"checkpoint {seq}: stored size/root differ from the signed note",
                    seq,
                )
            )
        if seq > 1 and cp.size == prev_size:
            # The ledger never signs one size twice; a repeat is a copied checkpoint.
            report.add(Problem("checkpoint", prev_size, f"checkpoint {seq} repeats the size of the one before", seq))
        elif cp.size < prev_size:
            report.add(
                Problem(
                    "checkpoint",
                    cp.size,
                    f"checkpoint {seq} shrinks the log from {prev_size} to {cp.size}",
                    seq,
                )
            )
        elif cp.size > verified_size:
            report.add(
                Problem(
                    "checkpoint",
                    verified_size,
                    f"checkpoint {seq} covers {cp.size} entries but only {verified_size} verify",
                    seq,
                )
            )
        elif roots.get(cp.size) != cp.root and not (
            stored_root is not None
            and any(p.index < cp.size for p in report.problems)
            and stored_root(cp.size) == cp.root
        ):
            report.add(
                Problem(
                    "checkpoint",
                    prev_size,
                    f"entries before {cp.size} do not hash to the root signed in checkpoint {seq}",
                    seq,
                )
            )
        prev_seq, prev_size = seq, max(prev_size, cp.size)
        report.latest_checkpoint_size = cp.size


def feed_entries(
    report: VerifyReport,
    tree: TreeVerifier,
    rows: Iterable[tuple[int, bytes]],
    on_leaf: Callable[[int, bytes], None] | None = None,
) -> int:
    """Feed ``(index, data)`` rows; report the first gap or disorder. Returns how many verified."""
    sha = hashlib.sha256
    batch: list[bytes] = []
    start = 0
    expected = 0
    broken = False
    for index, data in rows:
        report.entries += 1
        if broken:
            continue
        if index != expected:
            what = "is missing" if index > expected else "is out of order or duplicated"
            report.add(Problem("entry", min(index, expected), f"entry {min(index, expected)} {what}"))
            broken = True
            continue
        if on_leaf is not None:
            on_leaf(index, data)
        batch.append(sha(b"\x00" + data).digest())
        expected += 1
        if len(batch) == 4096:
            tree.feed(batch, start)
            start += len(batch)
            batch = []
    if batch:
        tree.feed(batch, start)
    return expected


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """An RFC 9162 inclusion proof, with the signed checkpoint of its tree size when there is one."""

    index: int
    tree_size: int
    leaf_hash: bytes
    root_hash: bytes
    hashes: tuple[bytes, ...]
    checkpoint: str | None = None
    leaf_data: str | None = None

    def to_json(self) -> dict[str, object]:
        """JSON-ready form (hex hashes)."""
        return {
            "type": "inclusion",
            "index": self.index,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "root_hash": self.root_hash.hex(),
            "hashes": [h.hex() for h in self.hashes],
            "checkpoint": self.checkpoint,
            "leaf_data": self.leaf_data,
        }


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """An RFC 9162 consistency proof between two tree sizes."""

    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    hashes: tuple[bytes, ...]

    def to_json(self) -> dict[str, object]:
        """JSON-ready form (hex hashes)."""
        return {
            "type": "consistency",
            "old_size": self.old_size,
            "new_size": self.new_size,
            "old_root": self.old_root.hex(),
            "new_root": self.new_root.hex(),
            "hashes": [h.hex() for h in self.hashes],
        }


def _hex(obj: dict[str, Any], name: str) -> bytes:
    value = obj.get(name)
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != HASH:
        raise InputError(f"proof field '{name}' must be a 64-character hex SHA-256 hash", field=name)
    return raw


def verify_inclusion_proof(proof: dict[str, Any], public_key: str | None = None) -> bool:
    """Check an inclusion proof's JSON. With ``public_key`` the embedded checkpoint must be signed by it
    and name the same root. With ``leaf_data`` present, it must hash to the leaf."""
    try:
        hashes = [bytes.fromhex(h) for h in proof["hashes"]]
        index, size = int(proof["index"]), int(proof["tree_size"])
    except (KeyError, TypeError, ValueError):
        raise InputError("not an inclusion proof", fix="pass the JSON printed by `finpilot audit prove`") from None
    leaf, root = _hex(proof, "leaf_hash"), _hex(proof, "root_hash")
    if (
        proof.get("leaf_data") is not None
        and hashlib.sha256(b"\x00" + str(proof["leaf_data"]).encode()).digest() != leaf
    ):
        return False
    if public_key is not None:
        if not proof.get("checkpoint"):
            return False
        try:
            cp = open_checkpoint(str(proof["checkpoint"]), Verifier.parse(public_key))
        except ValueError:
            return False
        if cp.size != size or cp.root != root:
            return False
    return verify_inclusion(leaf, index, size, hashes, root)


def verify_consistency_proof(proof: dict[str, Any]) -> bool:
    """Check a consistency proof's JSON."""
    try:
        hashes = [bytes.fromhex(h) for h in proof["hashes"]]
        old, new = int(proof["old_size"]), int(proof["new_size"])
    except (KeyError, TypeError, ValueError):
        raise InputError(
            "not a consistency proof", fix="pass the JSON printed by `finpilot audit consistency`"
        ) from None
    return verify_consistency(old, new, _hex(proof, "old_root"), _hex(proof, "new_root"), hashes)


def _read_lines(path: Path) -> Iterable[tuple[int, bytes]]:
    with path.open("rb") as fh:
        for i, line in enumerate(fh):
            yield i, line.rstrip(b"\n")


def _bundle_file(directory: Path, name: str) -> Path:
    path = directory / name
    if not path.is_file():
        raise InputError(
            f"{directory} is not a complete audit bundle: {name} is missing",
            field=name,
            fix="export again with `finpilot audit export`",
        )
    return path


def _read_checkpoints(report: VerifyReport, path: Path) -> list[tuple[int, int, bytes | None, str]]:
    rows: list[tuple[int, int, bytes | None, str]] = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            try:
                row = json.loads(line)
                rows.append((int(row["seq"]), int(row["tree_size"]), bytes.fromhex(row["root_hash"]), str(row["note"])))
            except (ValueError, KeyError, TypeError):
                # A mangled row cannot be checked; it counts as a missing checkpoint.
                report.add(Problem("checkpoint", 0, f"checkpoints.jsonl line {number} is not a checkpoint record"))
    return rows


def _kind_counter(report: VerifyReport) -> Callable[[int, bytes], None]:
    """An ``on_leaf`` that counts, per kind, the entries that conform to their declared kind.

    Conformance is information for the auditor, not a verification failure: an entry written
    before its kind was declared, or under ``custom.*``, keeps its hash and still verifies. So is
    an entry in a system namespace that finpilot did not write (one forged over the API of an
    older version): it verifies, is counted, and finpilot rebuilds no state from it.
    """
    counts = report.kinds

    def on_leaf(_index: int, data: bytes) -> None:
        try:
            leaf = orjson.loads(data)
            name = str(leaf["kind"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            name = "(unreadable)"
            leaf = None
        slot = counts.get(name)
        if slot is None:
            slot = counts[name] = [0, 0, 0]
        slot[0] += 1
        if leaf is not None and KINDS.conformance(name, leaf):
            slot[1] += 1
        if in_system_namespace(name) and not (isinstance(leaf, dict) and KINDS.written_by_system(leaf)):
            slot[2] += 1

    return on_leaf


def verify_bundle(directory: Path, public_key: str | None = None) -> VerifyReport:
    """Verify an exported bundle from its directory alone.

    ``public_key`` is the verifier key the auditor trusts (text or a file holding it); without
    it the bundle's own ``log.pub`` is used, which proves integrity but not authorship.
    """
    report = VerifyReport()
    try:
        manifest = json.loads(_bundle_file(directory, "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{directory} is not an audit bundle: {exc}", field="manifest.json") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise InputError(f"{directory}/manifest.json is not a {BUNDLE_FORMAT} manifest", field="manifest.json")
    key_text = public_key
    if key_text is not None and Path(key_text).is_file():
        key_text = Path(key_text).read_text()
    if key_text is None:
        key_text = _bundle_file(directory, "log.pub").read_text()
        report.notes.append("public key taken from the bundle itself; pass the key you trust to prove authorship")
    try:
        verifier = Verifier.parse(key_text)
    except ValueError as exc:
        raise InputError(f"public key: {exc}", field="public_key") from None
    entries_path = _bundle_file(directory, "entries.jsonl")
    checkpoints = _read_checkpoints(report, _bundle_file(directory, "checkpoints.jsonl"))
    tree = TreeVerifier(report, (c[1] for c in checkpoints))
    verified = feed_entries(report, tree, _read_lines(entries_path), _kind_counter(report))
    suspect = sum(counts[2] for counts in report.kinds.values())
    if suspect:
        report.notes.append(
            f"entries in finpilot's own namespaces that finpilot did not write: {suspect} (an undeclared kind,"
            " or an actor the kind does not know); they verify, but finpilot rebuilds no state from them"
        )
    root = tree.finish()
    report.tree_size = int(manifest.get("tree_size", verified))
    if report.entries != report.tree_size:
        report.add(
            Problem(
                "entry", min(report.entries, report.tree_size), "the bundle's entry count differs from its manifest"
            )
        )
    check_checkpoints(report, checkpoints, tree.roots, verifier, manifest.get("origin"), verified)
    # Entries and checkpoints are judged above, index by index; a digest mismatch there adds
    # nothing. The other files have no finer check, so their digests count.
    for name, digest in dict(manifest.get("files", {})).items():
        if name in ("entries.jsonl", "checkpoints.jsonl"):
            continue
        try:
            # Names come from the bundle: "../../etc/shadow" must not make us hash (and so
            # confirm the contents of) a file outside it.
            path = safe_child(directory, name, field="files")
        except InputError:
            report.add(Problem("bundle", 0, "manifest.json lists a file outside the bundle"))
            continue
        actual = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        if actual != digest:
            report.add(Problem("bundle", 0, f"{name} differs from the digest in manifest.json"))
    if report.ok and manifest.get("root_hash") not in (None, root.hex()):
        report.add(Problem("bundle", 0, "manifest.json names a root the entries do not hash to"))
    # An export signs everything it writes, so anything unsigned was added afterwards.
    covered = report.latest_checkpoint_size or 0
    if covered < verified:
        report.add(Problem("entry", covered, f"entries from {covered} on are not covered by any signed checkpoint"))
    return report
