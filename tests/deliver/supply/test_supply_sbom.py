"""CycloneDX SBOMs: valid against the official schema, the artifact's digest on the root component."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from finpilot.core import InputError
from finpilot.deliver import file_digest, tree_digest, write_sbom


def _valid(path: Path) -> dict[str, object]:
    text = path.read_text()
    errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(text)
    assert errors is None, errors
    document: dict[str, object] = json.loads(text)
    return document


def test_wheel_sbom_is_valid_cyclonedx_with_the_wheels_digest(wheel: Path, tmp_path: Path) -> None:
    result = write_sbom(wheel, tmp_path / "sbom.json", release="payments-1.4.0")
    doc = _valid(tmp_path / "sbom.json")
    root = doc["metadata"]["component"]  # type: ignore[index]
    assert root["name"] == "tiny"
    assert root["version"] == "1.0.0"
    assert root["purl"] == "pkg:pypi/tiny@1.0.0"
    assert root["hashes"] == [{"alg": "SHA-256", "content": file_digest(wheel).removeprefix("sha256:")}]
    names = {c["name"]: c.get("version") for c in doc["components"]}  # type: ignore[union-attr]
    # pydantic resolved against this environment; the extra-only rich left out; the absent one kept, unversioned.
    import pydantic

    assert names == {"pydantic": pydantic.VERSION, "nosuchpkg-finpilot-test": None}
    assert result.components == 2
    assert result.output.digest == file_digest(tmp_path / "sbom.json")
    assert result.artifact.digest == file_digest(wheel)
    deps = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}  # type: ignore[union-attr]
    assert len(deps[root["bom-ref"]]) == 2


def test_directory_sbom_reads_its_requirements_and_carries_the_tree_digest(tmp_path: Path) -> None:
    context = tmp_path / "image"
    context.mkdir()
    (context / "requirements.txt").write_text("requests==2.31.0\nrich>=13\n")
    (context / "app.py").write_text("print('hi')\n")
    result = write_sbom(context, tmp_path / "sbom.json")
    doc = _valid(tmp_path / "sbom.json")
    assert result.source == "requirements"
    assert {c["name"] for c in doc["components"]} == {"requests", "rich"}  # type: ignore[union-attr]
    hashes = doc["metadata"]["component"]["hashes"]  # type: ignore[index]
    assert hashes == [{"alg": "SHA-256", "content": result.artifact.hex}]
    before = result.artifact.digest
    (context / "app.py").write_text("print('changed')\n")
    assert write_sbom(context, tmp_path / "again.json").artifact.digest != before


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda p: p / "missing.whl", "path"),
        (lambda p: (p / "notes.txt").write_text("x") and p / "notes.txt", "path"),
        (lambda p: (p / "bad.whl").write_bytes(b"not a zip") and p / "bad.whl", "path"),
    ],
    ids=["missing", "not-a-wheel", "not-a-zip"],
)
def test_bad_inputs_name_the_field(make: object, field: str, tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        write_sbom(make(tmp_path), tmp_path / "out.json")  # type: ignore[operator]
    assert info.value.field == field


def test_tree_digest_is_what_sha256sum_gives(tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    (context / "a" / "b").mkdir(parents=True)
    for name, text in {"Z": "2", "a/y": "3", "a/b/x": "1", "a/B": "4"}.items():
        (context / name).write_text(text)
    pipeline = "find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs sha256sum | sha256sum"
    done = subprocess.run(["sh", "-c", pipeline], cwd=context, capture_output=True, text=True, check=True)
    assert tree_digest(context) == "sha256:" + done.stdout.split()[0]
