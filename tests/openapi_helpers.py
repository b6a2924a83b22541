"""Checking real HTTP answers against an app's own OpenAPI document (the console's and the controller's).

:class:`OpenApiCheck` finds the operation a request hit, takes the response schema the
document gives for that operation and status, resolves its ``$ref``s against the document's
components, and validates the real body with ``jsonschema``. It remembers every operation
answered, so a test can fail when a route of the app was never exercised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema

__all__ = ["OpenApiCheck"]


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


@dataclass
class OpenApiCheck:
    """Validates responses against ``document`` (an ``/openapi.json``) and records what was exercised."""

    document: dict[str, Any]
    seen: set[tuple[str, str, int]] = field(default_factory=set)

    def operations(self) -> set[tuple[str, str]]:
        """Every ``(METHOD, path template)`` the document describes."""
        return {
            (method.upper(), path)
            for path, item in self.document["paths"].items()
            for method in item
            if method in {"get", "post", "put", "patch", "delete"}
        }

    def _template(self, method: str, path: str) -> str:
        # The most literal template wins: /checkpoints/latest before /checkpoints/{x}.
        matches = [t for m, t in self.operations() if m == method and _pattern(t).match(path)]
        assert matches, f"{method} {path} is not in the OpenAPI document"
        return min(matches, key=lambda t: t.count("{"))

    def __call__(self, response: httpx.Response) -> httpx.Response:
        """Check one response; returns it, so calls can be wrapped: ``check(client.get(...))``."""
        method, path = response.request.method, response.request.url.path
        template = self._template(method, path)
        operation = self.document["paths"][template][method.lower()]
        status = response.status_code
        documented = operation["responses"].get(str(status))
        assert documented is not None, f"{method} {template} answered {status}, which its document does not list"
        self.seen.add((method, template, status))
        content: dict[str, Any] = documented.get("content") or {}
        if not content:
            assert not response.content, f"{method} {template} {status} is documented without a body"
            return response
        ctype = response.headers.get("content-type", "").split(";")[0].strip()
        assert ctype in content, f"{method} {template} {status} answered {ctype}, documented: {sorted(content)}"
        schema = content[ctype].get("schema")
        if ctype == "application/json":
            assert schema, f"{method} {template} {status} has no response schema"
            # Local "#/components/..." references resolve against the root of the validated schema.
            rooted = {**schema, "components": self.document.get("components", {})}
            try:
                jsonschema.validate(response.json(), rooted, cls=jsonschema.Draft202012Validator)
            except jsonschema.ValidationError as exc:
                raise AssertionError(
                    f"{method} {template} {status}: {exc.message} at {list(exc.absolute_path)}"
                ) from None
        return response

    def unexercised(self) -> set[tuple[str, str]]:
        """Operations of the document that no checked response came from."""
        return self.operations() - {(method, template) for method, template, _ in self.seen}
