"""The one way finpilot builds an HTTP client: bounded timeouts, TLS verified, connections kept alive.

Every HTTP client in finpilot comes from :func:`http_client` (httpx, sync) or
:func:`async_http_client`, with these defaults:

- **Timeouts always**: the caller's ``timeout_s`` for reads, writes and the pool, and at most
  :attr:`HttpDefaults.connect_timeout_s` to connect, so an unreachable host fails fast even where a
  slow answer is allowed.
- **TLS verification on**, against httpx's CA bundle; a private CA is an ``ssl.SSLContext``
  passed as ``verify``. The verifying context is built once per process and shared by every
  client: loading the CA bundle costs about 0.14 s here, and with the shared context a client
  costs about 0.2 ms, so a console page may build one per request.
- **Keep-alive**: one pool per client, idle connections kept :attr:`HttpDefaults.keepalive_s`;
  a client kept for a peer reuses its connections.
- **No redirects**: a redirect would carry a signed body or a bearer token to another address.
- **URL paths stay out of logs**: httpx logs every request's URL at INFO, and a webhook URL often
  carries a credential in its path, so a filter on the ``httpx`` logger cuts each URL to its
  scheme, host and port.

Two hand-written clients stay, for a measured reason each, and take their connect timeout,
keep-alive and ``User-Agent`` from :data:`HTTP_DEFAULTS`: the traffic generator's ``RawSender``
(its module docstring has the figures: about 0.06 ms of CPU per request against 3.4 ms for
httpx at 64 in flight) and the chaos drill's ``http.client`` connections (the same reason: a load
generator on the two cores whose service it measures, sending up to 1,000 requests a second).
The payments example may not import finpilot; its client repeats these defaults (a test compares).

httpx is imported when a client is built, not when ``finpilot.core`` is (0.16 s here), so the CLI
and the offline verifier do not pay for it. This module is the one place in ``core`` allowed to
import httpx (``pyproject.toml``'s contract says why).
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class HttpDefaults:
    """Settings every finpilot HTTP client shares (the per-call ``timeout_s`` is each caller's own)."""

    connect_timeout_s: float = 5.0
    """Most time to open a connection (less when the caller's timeout is shorter)."""
    keepalive_s: float = 30.0
    """How long an idle connection is kept for reuse."""
    max_connections: int = 32
    """Connections one client opens at most (the pool size), unless the caller says otherwise."""
    user_agent: str = "finpilot"
    """The ``User-Agent`` header."""

    def connect_timeout(self, timeout_s: float) -> float:
        """The connect timeout for a client whose requests may take ``timeout_s``."""
        return min(timeout_s, self.connect_timeout_s)


HTTP_DEFAULTS = HttpDefaults()
"""The defaults :func:`http_client` applies, and the hand-written clients read."""


def _options(
    timeout_s: float,
    base_url: str,
    headers: Mapping[str, str] | None,
    max_connections: int | None,
    verify: bool | ssl.SSLContext,
) -> dict[str, Any]:
    import httpx

    _redact_httpx_urls()
    pool = max_connections or HTTP_DEFAULTS.max_connections
    return {
        "base_url": base_url,
        "timeout": httpx.Timeout(timeout_s, connect=HTTP_DEFAULTS.connect_timeout(timeout_s)),
        "limits": httpx.Limits(
            max_connections=pool, max_keepalive_connections=pool, keepalive_expiry=HTTP_DEFAULTS.keepalive_s
        ),
        "headers": {"User-Agent": HTTP_DEFAULTS.user_agent, **(headers or {})},
        "verify": _shared_tls() if verify is True else verify,
        "follow_redirects": False,
    }


def http_client(
    *,
    timeout_s: float,
    base_url: str = "",
    headers: Mapping[str, str] | None = None,
    max_connections: int | None = None,
    verify: bool | ssl.SSLContext = True,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """A sync httpx client with finpilot's defaults; ``transport`` is for tests (``httpx.MockTransport``)."""
    import httpx

    return httpx.Client(**_options(timeout_s, base_url, headers, max_connections, verify), transport=transport)


def async_http_client(
    *,
    timeout_s: float,
    base_url: str = "",
    headers: Mapping[str, str] | None = None,
    max_connections: int | None = None,
    verify: bool | ssl.SSLContext = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An async httpx client with finpilot's defaults; ``transport`` is for tests."""
    import httpx

    return httpx.AsyncClient(**_options(timeout_s, base_url, headers, max_connections, verify), transport=transport)


@functools.cache
def _shared_tls() -> ssl.SSLContext:
    import httpx

    return httpx.create_ssl_context()


class _OriginOnly(logging.Filter):
    """Cuts every URL in an ``httpx`` log record to ``scheme://host:port``: paths and queries may be credentials."""

    def filter(self, record: logging.LogRecord) -> bool:
        import httpx

        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(_origin(a) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


def _origin(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")


_FILTER = _OriginOnly()


def _redact_httpx_urls() -> None:
    log = logging.getLogger("httpx")
    if _FILTER not in log.filters:
        log.addFilter(_FILTER)
