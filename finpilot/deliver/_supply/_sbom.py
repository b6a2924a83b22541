"""CycloneDX SBOMs of a built artifact: a wheel, or a directory (a container context or a project).

A wheel's SBOM is built with cyclonedx-python-lib: the wheel is the root component (name, version,
purl, SHA-256 of the wheel file) and each dependency its METADATA declares for this platform is a
component, at the version installed here when there is one. A directory's components come from the
``cyclonedx-py`` tool (its requirements file, its lock, or the environment that runs finpilot);
the root is then set to the directory with its tree digest (see :func:`tree_digest`).
"""

from __future__ import annotations

import email
import importlib.metadata
import json
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cyclonedx.model import HashAlgorithm, HashType
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot5
from packageurl import PackageURL
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from finpilot.core import CheckFailedError, InputError
from finpilot.deliver._supply._files import ArtifactRef, FileRef

SPEC_VERSION = "1.5"
_TOOL_TIMEOUT_S = 300


@dataclass(frozen=True, slots=True)
class SbomResult:
    """An SBOM written: for which artifact, where, how many components, read from what."""

    artifact: ArtifactRef
    output: FileRef
    components: int
    source: str
    release: str | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (the ``--json`` shape of ``finpilot sbom``)."""
        return {
            "release": self.release,
            "artifact": self.artifact.to_json(),
            "output": self.output.to_json(),
            "format": "CycloneDX",
            "spec_version": SPEC_VERSION,
            "components": self.components,
            "source": self.source,
        }


def _wheel_metadata(path: Path) -> email.message.Message:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
            if not names:
                raise InputError(f"{path} has no .dist-info/METADATA", field="path", fix="pass a built wheel (.whl)")
            return email.message_from_bytes(zf.read(names[0]))
    except zipfile.BadZipFile:
        raise InputError(f"{path} is not a wheel (not a zip file)", field="path", fix="pass a .whl file") from None


def _installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _wheel_bom(path: Path, artifact: ArtifactRef) -> tuple[Bom, int]:
    meta = _wheel_metadata(path)
    name, version = meta.get("Name"), meta.get("Version")
    if not name or not version:
        raise InputError(f"{path}: METADATA lacks Name or Version", field="path", fix="rebuild the wheel")
    root = Component(
        name=str(name),
        version=str(version),
        type=ComponentType.LIBRARY,
        bom_ref=f"pkg:pypi/{canonicalize_name(str(name))}@{version}",
        purl=PackageURL(type="pypi", name=canonicalize_name(str(name)), version=str(version)),
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=artifact.hex)],
    )
    bom = Bom()
    bom.metadata.component = root
    deps: dict[str, Component] = {}
    for line in meta.get_all("Requires-Dist") or []:
        try:
            req = Requirement(str(line))
        except InvalidRequirement:
            raise InputError(f"{path}: Requires-Dist {line!r} is not a requirement", field="path") from None
        # Extras are not installed by default; a marker that fails here does not apply to this platform.
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        dep_name = canonicalize_name(req.name)
        if dep_name in deps:
            continue
        dep_version = _installed_version(req.name)
        deps[dep_name] = Component(
            name=req.name,
            version=dep_version,
            type=ComponentType.LIBRARY,
            bom_ref=f"pkg:pypi/{dep_name}" + (f"@{dep_version}" if dep_version else ""),
            purl=PackageURL(type="pypi", name=dep_name, version=dep_version),
            description=f"required as {req}" if not dep_version else None,
        )
    for component in deps.values():
        bom.components.add(component)
    bom.register_dependency(root, list(deps.values()))
    return bom, len(deps)


def _cyclonedx_py() -> list[str]:
    exe = shutil.which("cyclonedx-py") or str(Path(sys.executable).with_name("cyclonedx-py"))
    if not Path(exe).is_file():
        raise InputError(
            "the cyclonedx-py tool is not installed",
            field="tool",
            fix="pip install cyclonedx-bom",
        )
    return [exe]


def _directory_bom(path: Path, artifact: ArtifactRef) -> tuple[dict[str, Any], int, str]:
    requirements = path / "requirements.txt"
    pyproject = path / "pyproject.toml"
    if requirements.is_file():
        # The tool only reads the file: the index URL goes into the SBOM as text, nothing is fetched.
        args = ["requirements", str(requirements)]
        source = "requirements"
    else:
        args = ["environment", sys.executable]
        source = "environment"
    if pyproject.is_file():
        args += ["--pyproject", str(pyproject)]
    cmd = [*_cyclonedx_py(), *args, "--sv", SPEC_VERSION, "--of", "JSON", "--no-validate", "-o", "-"]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=_TOOL_TIMEOUT_S, check=False, cwd=path)
    except subprocess.TimeoutExpired:
        raise CheckFailedError(f"cyclonedx-py {args[0]} ran past {_TOOL_TIMEOUT_S} s") from None
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise CheckFailedError(f"cyclonedx-py {args[0]} failed: {tail[0]}", fix="run it by hand to see why")
    doc: dict[str, Any] = json.loads(done.stdout)
    metadata = doc.setdefault("metadata", {})
    root = metadata.get("component") or {"type": "application", "name": artifact.name, "bom-ref": "root"}
    # The tool knows the project; only finpilot knows the bytes it was asked about.
    root["hashes"] = [{"alg": "SHA-256", "content": artifact.hex}]
    metadata["component"] = root
    return doc, len(doc.get("components") or []), source


def write_sbom(path: Path, out: Path, *, release: str | None = None) -> SbomResult:
    """Write the CycloneDX 1.5 JSON SBOM of ``path`` (a wheel or a directory) to ``out``."""
    if not path.exists():
        raise InputError(f"{path} does not exist", field="path", fix="pass a wheel or a directory")
    artifact = ArtifactRef.of(path)
    if path.is_dir():
        doc, count, source = _directory_bom(path, artifact)
        text = json.dumps(doc, indent=2, sort_keys=True)
    else:
        if path.suffix != ".whl":
            raise InputError(f"{path} is not a wheel", field="path", fix="pass a .whl file or a directory")
        bom, count = _wheel_bom(path, artifact)
        text, source = JsonV1Dot5(bom).output_as_string(indent=2), "wheel"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
    return SbomResult(artifact=artifact, output=FileRef.of(out), components=count, source=source, release=release)
