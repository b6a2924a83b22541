"""The console's edge: security headers on every response, a body limit on every request.

Nothing but this origin may supply scripts, styles or frames. :class:`ConsoleApp` puts
:func:`finpilot.core.edge` outside Starlette's own error middleware, so a 500 from the
last-resort handler carries the headers too, and an oversized body is refused (413) before
routing, authentication or form parsing see it.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp

from finpilot.core import edge

# 'self' only: the console ships one stylesheet and one script and loads nothing from elsewhere.
# Inline scripts are refused too, so an escaping mistake in a template cannot run code.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""The console's Content-Security-Policy."""

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin keeps Referer on our own requests (a CSRF fallback) and off everyone else's.
    "Referrer-Policy": "same-origin",
}
"""Every console response carries these; all but static files also ``Cache-Control: no-store``
(pages and API answers carry audit data and tokens' names)."""

LOGIN_BODY_LIMIT = 4096
"""``POST /login`` takes a token and a path: anything bigger is refused (413) unread."""


class ConsoleApp(FastAPI):
    """FastAPI with the console's edge outside everything else, its error middleware included."""

    max_body_bytes = 32 * 1024 * 1024
    """Set from ``console.max_body_bytes`` before the first request."""

    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack (error handling, user middleware, router), behind the edge."""
        return edge(
            super().build_middleware_stack(),
            max_body_bytes=self.max_body_bytes,
            body_limits={"/login": LOGIN_BODY_LIMIT},
            headers=SECURITY_HEADERS,
            cacheable_prefix="/static/",
        )
