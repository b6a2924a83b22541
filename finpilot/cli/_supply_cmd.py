"""``finpilot sbom``, ``sign``, ``provenance`` and ``verify-artifact``: the signed supply chain of a release.

The first three write a file and, when a data directory is configured (``--config``, a
``finpilot.yaml`` here, ``--data-dir`` or ``FINPILOT_DATA_DIR``), append a ``deliver.*`` entry
naming it. ``verify-artifact`` is offline: no settings, no data directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from securesystemslib.signer import CryptoSigner

from finpilot.audit import Ledger
from finpilot.cli._context import cli_actor, cli_state, ledger_for, settings_for
from finpilot.cli._errors import EXIT_FAILED
from finpilot.cli._output import JsonFlag, busy, out, print_json
from finpilot.deliver import (
    check_release,
    default_key_path,
    load_signing_key,
    record_attestation,
    record_sbom,
    verify_artifact,
    write_provenance,
    write_sbom,
)
from finpilot.deliver import sign_artifact as sign_file

ReleaseOption = Annotated[
    str | None, typer.Option("--release", help="The release this is for; the audit entry's subject is release:ID.")
]
OutOption = Annotated[Path, typer.Option("--out", dir_okay=False, help="File to write.")]
KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        dir_okay=False,
        help="Ed25519 PKCS#8 PEM signing key (default: <data dir>/keys/release-signing.pem, created on first use).",
    ),
]


@contextmanager
def _ledger_if_configured(ctx: typer.Context) -> Iterator[Ledger | None]:
    state = cli_state(ctx)
    if state.config_file() is None and state.data_dir is None:
        yield None
        return
    with ledger_for(ctx) as ledger:
        yield ledger


def _signer(ctx: typer.Context, key: Path | None) -> tuple[CryptoSigner, Path]:
    if key is not None:
        return load_signing_key(key, create=False)
    return load_signing_key(default_key_path(settings_for(ctx).data_dir), create=True)


def _show(data: dict[str, Any], what: str, *, as_json: bool) -> None:
    if as_json:
        print_json(data)
        return
    where = f"; audit entry {data['audit_index']}" if data.get("audit_index") is not None else ""
    out().print(
        f"wrote {what} of {escape(data['artifact']['name'])} ({data['artifact']['digest']}) to "
        f"{escape(data['output']['path'])} ({data['output']['digest']}){where}",
        soft_wrap=True,
    )


def sbom(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A built wheel, or a directory (a container context or a project).")],
    out_file: OutOption,
    release: ReleaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Write a CycloneDX 1.5 JSON SBOM of a wheel or a directory; the root component carries its sha256."""
    check_release(release)
    with busy("writing the SBOM"):
        result = write_sbom(path, out_file, release=release)
    with _ledger_if_configured(ctx) as ledger:
        index = record_sbom(ledger, result, actor=cli_actor()) if ledger is not None else None
    _show({**result.to_json(), "audit_index": index}, "a CycloneDX SBOM", as_json=as_json)


def sign(
    ctx: typer.Context,
    artifact: Annotated[Path, typer.Argument(dir_okay=False, help="The artifact to sign.")],
    out_file: OutOption,
    key: KeyOption = None,
    release: ReleaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Sign an artifact: a DSSE envelope over an in-toto statement naming its sha256 (Ed25519)."""
    check_release(release)
    signer, public = _signer(ctx, key)
    att = sign_file(artifact, out_file, signer, public, release=release)
    with _ledger_if_configured(ctx) as ledger:
        index = record_attestation(ledger, att, actor=cli_actor()) if ledger is not None else None
    _show({**att.to_json(), "audit_index": index}, "a signed statement", as_json=as_json)


def provenance(
    ctx: typer.Context,
    artifact: Annotated[Path, typer.Argument(dir_okay=False, help="The built artifact.")],
    out_file: OutOption,
    key: KeyOption = None,
    release: ReleaseOption = None,
    materials: Annotated[
        list[Path] | None, typer.Option("--materials", dir_okay=False, help="An input of the build (repeatable).")
    ] = None,
    commands: Annotated[
        list[str] | None, typer.Option("--command", help="A command the build ran, in order (repeatable).")
    ] = None,
    source: Annotated[
        Path, typer.Option("--source", file_okay=False, help="The checkout it was built from (its git commit).")
    ] = Path("."),
    as_json: JsonFlag = False,
) -> None:
    """Write a signed SLSA v1 provenance of an artifact (in-toto statement, DSSE, Ed25519; SLSA Build L1)."""
    check_release(release)
    signer, public = _signer(ctx, key)
    att = write_provenance(
        artifact,
        out_file,
        signer,
        public,
        release=release,
        commands=commands or (),
        materials=materials or (),
        source=source,
    )
    with _ledger_if_configured(ctx) as ledger:
        index = record_attestation(ledger, att, actor=cli_actor()) if ledger is not None else None
    _show({**att.to_json(), "audit_index": index}, "SLSA provenance", as_json=as_json)


def verify_artifact_cmd(
    artifact: Annotated[Path, typer.Argument(dir_okay=False, help="The artifact to check.")],
    provenance_file: Annotated[
        Path | None, typer.Option("--provenance", dir_okay=False, help="Its provenance envelope.")
    ] = None,
    signature: Annotated[
        Path | None, typer.Option("--signature", dir_okay=False, help="Its signature envelope.")
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option("--public-key", dir_okay=False, help="The PEM public key you trust.")
    ] = None,
    require_signature: Annotated[
        bool, typer.Option("--require-signature", help="Fail unless a signature verifies with --public-key.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Check an artifact against its provenance and signature offline; exit 1 naming what failed."""
    # No ctx and no settings: a deploy host or an auditor runs this without finpilot's data.
    result = verify_artifact(
        artifact,
        provenance=provenance_file,
        signature=signature,
        public_key=public_key,
        require_signature=require_signature,
    )
    if as_json:
        print_json(result.to_json())
        if not result.ok:
            raise typer.Exit(EXIT_FAILED)
        return
    for check in result.checks:
        mark = "[green]ok[/]" if check.ok else "[red]FAILED[/]"
        out().print(f"{mark} {check.name}: {escape(check.detail)}", soft_wrap=True)
    if not result.signed and not require_signature:
        out().print("note: no signature was checked (pass --public-key)")
    result.raise_for_failure()
    out().print(f"verified {escape(result.artifact.name)} ({result.artifact.digest})")


def register_supply(app: typer.Typer) -> None:
    """Add ``sbom``, ``sign``, ``provenance`` and ``verify-artifact`` to the root command."""
    app.command("sbom")(sbom)
    app.command("sign")(sign)
    app.command("provenance")(provenance)
    app.command("verify-artifact")(verify_artifact_cmd)
