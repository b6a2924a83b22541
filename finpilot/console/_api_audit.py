"""REST API over the audit ledger: ``/api/v1/audit/...``.

An appended entry's actor is the caller's token (``token:<name>``): it cannot be chosen. A body
may leave ``actor`` out or repeat that value; any other is refused (422, field ``actor``), so an
API client can never write as ``finpilot:*`` or as another token. Kinds in finpilot's system
namespaces (``fraud.*``, ``heal.*`` ...) are refused by the ledger for every appended entry.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from finpilot.audit import Entry
from finpilot.console._api_models import (
    Appended,
    AppendedBatch,
    AuditEntry,
    AuditEntryPage,
    Checkpoint,
    CheckpointList,
    ConsistencyProof,
    Erasure,
    InclusionProof,
    VerifyReport,
)
from finpilot.console._auth import require
from finpilot.console._http import ERRORS, JSON_ERRORS_BESIDE_TEXT, parse_json, read_body, read_json
from finpilot.console._roles import Permission
from finpilot.console._state import console_state
from finpilot.console._tokens import Principal
from finpilot.core import MAX_REQUEST_INT, InputError, NotFoundError, PayloadTooLargeError

# Bodies over this are refused whatever their shape; a single entry gets a tighter limit.
_MAX_BATCH_BODY = 32 * 1024 * 1024
_ERASURE_BODY = 64 * 1024


# Non-blank text: what Entry.from_json and the ledger enforce, declared.
_NON_BLANK = r"\S"
_TEXT: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 512, "pattern": _NON_BLANK}
_ENTRY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["kind", "action", "subject", "outcome"],
    "properties": {
        **dict.fromkeys(("kind", "actor", "action", "subject", "outcome"), _TEXT),
        "evidence": {"type": "object"},
        "personal": {"type": "object"},
        "data_subject": {"type": "string"},
    },
    "additionalProperties": False,
}
_BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["entries"],
    "properties": {"entries": {"type": "array", "minItems": 1, "items": _ENTRY_SCHEMA}},
    "additionalProperties": False,
}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    # Bodies are parsed by hand (read_json) to control limits and errors; document them anyway.
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=ERRORS)

Reader = Annotated[Principal, Depends(require(Permission.READ))]

# Every integer a client sends is bounded by what the database stores: a bigger one is a 422, not a 500.
Index = Annotated[int, PathParam(ge=0, le=MAX_REQUEST_INT, description="an entry's index")]


def _is_batch(body: Any) -> bool:
    return isinstance(body, dict) and "entries" in body


def _stamped(item: Any, actor: str) -> Any:
    # Who appended is who holds the token: a body that names anyone else is refused rather than
    # silently rewritten, so the client learns its entry would not have said what it meant.
    if not isinstance(item, dict):
        return item  # Entry.from_json names the problem
    if item.get("actor", actor) != actor:
        raise InputError(
            f"entry field 'actor' must be left out or be '{actor}': an appended entry is recorded as its token",
            field="actor",
            fix=f"leave 'actor' out; the API records {actor} as the actor",
        )
    return {**item, "actor": actor}


def _entries_from(body: Any, max_batch: int, actor: str) -> list[Entry] | Entry:
    if not _is_batch(body):
        return Entry.from_json(_stamped(body, actor))
    extra = sorted(set(body) - {"entries"})
    if extra:
        raise InputError(f"unknown field '{extra[0]}' beside 'entries'", field=extra[0])
    items = body["entries"]
    if not isinstance(items, list) or not items:
        raise InputError("'entries' must be a non-empty list of entry objects", field="entries")
    if len(items) > max_batch:
        raise PayloadTooLargeError(
            f"a batch holds at most {max_batch} entries; this one holds {len(items)}", field="entries"
        )
    entries = []
    for i, item in enumerate(items):
        try:
            entries.append(Entry.from_json(_stamped(item, actor)))
        except InputError as exc:
            # The same shape the ledger gives errors in a batch it validates itself.
            exc.message = f"entries[{i}]: {exc.message}"
            exc.field = f"entries[{i}].{exc.field}" if exc.field and exc.field != "$" else f"entries[{i}]"
            raise
    return entries


@router.get("/entries", response_model=AuditEntryPage, summary="The newest entries, newest first")
def list_entries(
    request: Request,
    _who: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    before: Annotated[
        int | None, Query(ge=0, le=MAX_REQUEST_INT, description="only entries with index below this")
    ] = None,
) -> dict[str, Any]:
    """Entries newest first; page back with ``before`` set to the last index seen."""
    ledger = console_state(request).ledger
    entries = ledger.tail(limit, before)
    return {"size": ledger.size, "entries": [e.to_json() for e in entries]}


@router.get("/entries/{index}", response_model=AuditEntry, summary="One entry")
def get_entry(request: Request, _who: Reader, index: Index) -> dict[str, Any]:
    """One entry by index."""
    return console_state(request).ledger.entry(index).to_json()


@router.post(
    "/entries",
    status_code=201,
    response_model=Appended | AppendedBatch,
    summary='Append one entry, or a batch as {"entries": [...]}',
    openapi_extra=_json_body({"oneOf": [_ENTRY_SCHEMA, _BATCH_SCHEMA]}),
)
async def append_entries(
    request: Request, who: Annotated[Principal, Depends(require(Permission.APPEND))]
) -> dict[str, Any]:
    """Append and return ``{"index": i}``, or ``{"indices": [...]}`` for a batch; durable on return.

    Every entry's actor is the caller's token (see the module docstring).
    """
    state = console_state(request)
    audit = state.settings.audit
    single_limit = audit.max_entry_bytes * 2
    raw = await read_body(request, max(single_limit, min(single_limit * audit.max_batch, _MAX_BATCH_BODY)))
    body = parse_json(raw)
    if not _is_batch(body) and len(raw) > single_limit:
        raise PayloadTooLargeError(f"a single-entry body is at most {single_limit} bytes", field="$")
    parsed = _entries_from(body, audit.max_batch, who.actor)
    if isinstance(parsed, Entry):
        return {"index": await run_in_threadpool(state.ledger.append, parsed)}
    return {"indices": await run_in_threadpool(state.ledger.append_many, parsed)}


@router.get("/checkpoints", response_model=CheckpointList, summary="Signed checkpoints, oldest first")
def list_checkpoints(
    request: Request,
    _who: Reader,
    after: Annotated[int, Query(ge=0, le=MAX_REQUEST_INT, description="only checkpoints with seq above this")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Checkpoints with ``seq > after``."""
    cps = console_state(request).ledger.checkpoints(after_seq=after, limit=limit)
    return {"checkpoints": [cp.to_json() for cp in cps]}


@router.get("/checkpoints/latest", response_model=Checkpoint, summary="The newest signed checkpoint")
def latest_checkpoint(request: Request, _who: Reader) -> dict[str, object]:
    """The newest checkpoint; 404 before the first."""
    latest = console_state(request).ledger.latest_checkpoint()
    if latest is None:
        raise NotFoundError("no checkpoint has been signed yet", fix="append an entry first")
    return latest.to_json()


@router.post("/checkpoints", status_code=201, response_model=Checkpoint, summary="Sign a checkpoint now")
def make_checkpoint(
    request: Request, _who: Annotated[Principal, Depends(require(Permission.CHECKPOINT))]
) -> dict[str, object]:
    """Sign now if the log grew; return the latest checkpoint."""
    latest = console_state(request).ledger.checkpoint()
    if latest is None:
        raise NotFoundError("the log is empty; there is nothing to sign", fix="append an entry first")
    return latest.to_json()


@router.get("/proofs/inclusion/{index}", response_model=InclusionProof, summary="RFC 9162 inclusion proof")
def inclusion_proof(
    request: Request,
    _who: Reader,
    index: Index,
    tree_size: Annotated[
        int | None, Query(ge=1, le=MAX_REQUEST_INT, description="default: the latest checkpoint")
    ] = None,
    download: Annotated[bool, Query(description="serve as a file attachment")] = False,
) -> JSONResponse:
    """Proof that entry ``index`` is in the tree of ``tree_size`` entries."""
    proof = console_state(request).ledger.inclusion_proof(index, tree_size)
    headers = {"Content-Disposition": f'attachment; filename="inclusion-{index}.json"'} if download else None
    return JSONResponse(proof.to_json(), headers=headers)


@router.get("/proofs/consistency", response_model=ConsistencyProof, summary="RFC 9162 consistency proof")
def consistency_proof(
    request: Request,
    _who: Reader,
    old: Annotated[int, Query(ge=1, le=MAX_REQUEST_INT)],
    new: Annotated[int | None, Query(ge=1, le=MAX_REQUEST_INT, description="default: the latest checkpoint")] = None,
) -> dict[str, object]:
    """Proof that the tree of ``new`` entries extends the tree of ``old``."""
    return console_state(request).ledger.consistency_proof(old, new).to_json()


@router.post("/verify", response_model=VerifyReport, summary="Verify the whole ledger")
def verify(request: Request, _who: Annotated[Principal, Depends(require(Permission.VERIFY))]) -> dict[str, object]:
    """Recompute every hash and check every signature; 200 either way, ``ok`` says which."""
    return console_state(request).ledger.verify().to_json()


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # The server's user and group names are nobody's business.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


@router.get(
    "/export",
    summary="Download the offline-verifiable export bundle (.tar.gz)",
    response_class=FileResponse,
    responses={200: {"content": {"application/gzip": {}}}},
)
def export(request: Request, _who: Annotated[Principal, Depends(require(Permission.EXPORT))]) -> FileResponse:
    """A tarball of ``ledger.export``: entries, checkpoints, public key and manifest."""
    ledger = console_state(request).ledger
    workdir = Path(tempfile.mkdtemp(prefix="finpilot-export-"))
    try:
        bundle = workdir / "bundle"
        manifest = ledger.export(bundle)
        name = f"finpilot-audit-{manifest['tree_size']}"
        archive = workdir / f"{name}.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(bundle, arcname=name, filter=_anonymous)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return FileResponse(
        archive,
        media_type="application/gzip",
        filename=archive.name,
        background=BackgroundTask(shutil.rmtree, workdir, ignore_errors=True),
    )


@router.get(
    "/public-key",
    summary="The log's public key",
    response_class=PlainTextResponse,
    responses=JSON_ERRORS_BESIDE_TEXT,
)
def public_key(
    request: Request,
    _who: Reader,
    key_format: Annotated[Literal["note", "pem"], Query(alias="format")] = "note",
) -> PlainTextResponse:
    """The C2SP verifier key (``format=note``) or the PEM public key (``format=pem``)."""
    ledger = console_state(request).ledger
    text = ledger.verifier_key() + "\n" if key_format == "note" else ledger.public_key_pem()
    return PlainTextResponse(text)


@router.post(
    "/erasures",
    response_model=Erasure,
    summary="Erase one data subject's personal data",
    openapi_extra=_json_body(
        {
            "type": "object",
            "required": ["data_subject"],
            "properties": {"data_subject": {"type": "string", "minLength": 1, "pattern": _NON_BLANK}},
            "additionalProperties": False,
        }
    ),
)
async def erase(request: Request, who: Annotated[Principal, Depends(require(Permission.ERASE))]) -> dict[str, Any]:
    """Crypto-shred the personal data about ``data_subject``; the erasure is recorded in the ledger."""
    body = await read_json(request, _ERASURE_BODY)
    if not isinstance(body, dict):
        raise InputError("the body must be a JSON object", field="$", fix='send {"data_subject": "customer:123"}')
    extra = sorted(set(body) - {"data_subject"})
    if extra:
        raise InputError(f"unknown field '{extra[0]}'", field=extra[0])
    subject = body.get("data_subject")
    if not isinstance(subject, str) or not subject.strip():
        raise InputError("'data_subject' must be a non-empty string", field="data_subject")
    ledger = console_state(request).ledger
    report = await run_in_threadpool(ledger.erase, subject, actor=who.actor)
    return report.to_json()
