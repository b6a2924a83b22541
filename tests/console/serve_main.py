"""Run ``finpilot.console.serve`` as a process of its own, so tests can use real signals.

Usage: ``python serve_main.py DATA_DIR URL_FILE [--model-dir DIR] [--trusted-proxy ADDR ...]``. The URL is
written to URL_FILE once the server accepts connections; "stopped cleanly" is printed if ``serve``
returned normally. With ``--model-dir`` the fraud service is served too, its state restored from
``DATA_DIR/fraud`` and the ledger as ``finpilot up`` restores it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from finpilot.audit import open_ledger
from finpilot.console import open_token_store, serve
from finpilot.core import ConsoleSettings, FraudSettings, Settings
from finpilot.fraud import FraudService, load_state


def main() -> None:
    """Serve on a free port until SIGINT or SIGTERM."""
    data_dir, url_file = Path(sys.argv[1]), Path(sys.argv[2])
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--trusted-proxy", action="append", default=[])
    args = parser.parse_args(sys.argv[3:])
    model_dir: Path | None = args.model_dir
    proxies = {"trusted_proxies": args.trusted_proxy} if args.trusted_proxy else {}
    settings = Settings(
        data_dir=data_dir, console=ConsoleSettings(port=0, **proxies), fraud=FraudSettings(model_dir=model_dir)
    )

    def on_ready(url: str) -> None:
        # Write then rename, so the test never reads half a URL.
        partial = url_file.with_suffix(".partial")
        partial.write_text(url)
        partial.replace(url_file)

    with open_ledger(settings) as ledger, open_token_store(settings) as tokens:
        fraud = None
        if model_dir is not None:
            fraud = FraudService.from_settings(settings.fraud, ledger)
            load_state(fraud, data_dir / "fraud")
        serve(settings, ledger, tokens, on_ready=on_ready, fraud=fraud)
    print("stopped cleanly", flush=True)


if __name__ == "__main__":
    main()
