"""Fixture trees with known flaws, a tiny semgrep rule of our own, and an offline advisory snapshot."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import yaml

TODAY = dt.date(2026, 12, 7)
"""The day the tests run on (waiver expiry is judged against it)."""

SQL_RULE = {
    "rules": [
        {
            "id": "sql-string-concat",
            "languages": ["python"],
            "severity": "ERROR",
            "message": "SQL built by string concatenation",
            "pattern": '"$Q" + $X',
            "metadata": {
                "cwe": "CWE-89: Improper Neutralization of Special Elements used in an SQL Command ('SQL Injection')",
                "category": "security",
                "confidence": "HIGH",
            },
        }
    ]
}

APP = """import requests

API_KEY = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"


def fetch(url):
    return requests.get(url, verify=False, timeout=5)


def find(cursor, user_id):
    return cursor.execute("SELECT * FROM accounts WHERE id = " + user_id)
"""

POD = """apiVersion: v1
kind: Pod
metadata:
  name: payments
spec:
  containers:
    - name: app
      image: payments:latest
      securityContext:
        privileged: true
"""

SNAPSHOT = {
    "advisories": [
        {
            "id": "PYSEC-2018-28",
            "package": "requests",
            "affected": "<2.20.0",
            "fix_versions": ["2.20.0"],
            "severity": "high",
        }
    ]
}


def write_tree(root: Path) -> Path:
    """A small project with one flaw per scanner; returns ``root``."""
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text(APP)
    (root / "deploy").mkdir()
    (root / "deploy" / "pod.yaml").write_text(POD)
    (root / "requirements.txt").write_text("requests==2.19.0\n")
    return root


def write_config(folder: Path, *, scanners: list[str] | None = None, cache: Path | None = None) -> Path:
    """A gate config (rules, snapshot, a probe URL that never answers) in ``folder``; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules").mkdir(exist_ok=True)
    (folder / "rules" / "sql.yaml").write_text(yaml.safe_dump(SQL_RULE))
    (folder / "advisories.json").write_text(json.dumps(SNAPSHOT))
    config = {
        "semgrep": {"rules": "rules"},
        # Port 9 (discard) on loopback: refused at once, so the snapshot answers.
        "deps": {"advisories": "advisories.json", "probe_url": "http://127.0.0.1:9/", "probe_timeout_s": 1},
        "cache_dir": str(cache or folder / "cache"),
    }
    if scanners is not None:
        config["scanners"] = scanners
    path = folder / "gate.yaml"
    path.write_text(yaml.safe_dump(config))
    return path
