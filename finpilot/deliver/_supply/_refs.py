"""Finding the files a ledger entry names: every ``{path, digest}`` object anywhere in its evidence."""

from __future__ import annotations

from typing import Any

from finpilot.deliver._supply._files import DIGEST, FileRef


def file_refs(evidence: Any) -> list[FileRef]:
    """Every ``{"path": str, "digest": "sha256:<hex>"}`` in ``evidence``, depth first, without repeats.

    Any kind's evidence is searched the same way (gate results, SBOMs, rollouts, approvals), so a
    new kind's files land in evidence bundles without teaching this module about it.
    """
    found: list[FileRef] = []
    stack: list[Any] = [evidence]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            path, digest = node.get("path"), node.get("digest")
            if isinstance(path, str) and isinstance(digest, str) and DIGEST.fullmatch(digest):
                ref = FileRef(path=path, digest=digest)
                if ref not in found:
                    found.append(ref)
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return found
