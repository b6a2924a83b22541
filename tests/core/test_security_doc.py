"""docs/security.md names the test that holds each control: every one it names must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_FILE = re.compile(r"tests/[\w/]+\.py")
_NAME = re.compile(r"\btest_\w+")


def test_every_test_the_security_page_names_exists() -> None:
    doc = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    checked = 0
    for number, line in enumerate(doc.splitlines(), start=1):
        files = _FILE.findall(line)
        stems = {Path(f).stem for f in files}
        names = [n for n in _NAME.findall(line) if n not in stems]
        if not names:
            continue
        assert files, f"docs/security.md:{number} names a test but no test file"
        sources = [(ROOT / f).read_text(encoding="utf-8") for f in files]
        for name in names:
            assert any(re.search(rf"^\s*def {name}\(", s, re.M) for s in sources), (
                f"docs/security.md:{number}: {name} is not defined in {', '.join(files)}"
            )
            checked += 1
    assert checked >= 40, f"only {checked} tests named: the page lost its table"
