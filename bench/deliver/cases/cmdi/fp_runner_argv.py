# expect: CWE-78 safe
import subprocess
from collections.abc import Sequence


def run_tool(argv: Sequence[str]) -> str:
    # argv is a list: no shell parses it.
    return subprocess.run(list(argv), capture_output=True, text=True, check=True).stdout


def version() -> str:
    return run_tool(["git", "--version"])
