"""Run ``finpilot.console.serve`` as a process of its own, so tests can use real signals.

Usage: ``python serve_main.py DATA_DIR URL_FILE [TRUSTED_PROXY...]``. The URL is written to URL_FILE once the
server accepts connections; "stopped cleanly" is printed if ``serve`` returned normally.
"""

from __future__ import annotations

import sys
from pathlib import Path

from finpilot.audit import open_ledger
from finpilot.console import open_token_store, serve
from finpilot.core import ConsoleSettings, Settings


def main() -> None:
    """Serve on a free port until SIGINT or SIGTERM."""
    data_dir, url_file = Path(sys.argv[1]), Path(sys.argv[2])
    proxies = {"trusted_proxies": sys.argv[3:]} if sys.argv[3:] else {}
    settings = Settings(data_dir=data_dir, console=ConsoleSettings(port=0, **proxies))

    def on_ready(url: str) -> None:
        # Write then rename, so the test never reads half a URL.
        partial = url_file.with_suffix(".partial")
        partial.write_text(url)
        partial.replace(url_file)

    with open_ledger(settings) as ledger, open_token_store(settings) as tokens:
        serve(settings, ledger, tokens, on_ready=on_ready)
    print("stopped cleanly", flush=True)


if __name__ == "__main__":
    main()
