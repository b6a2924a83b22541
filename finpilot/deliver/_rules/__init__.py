"""finpilot's own semgrep rule pack for fintech code (package data, read by the gate's semgrep adapter).

Each YAML file under ``semgrep/`` holds the rules of one weakness class; every rule names its CWE,
its PCI DSS v4.0 requirements, a confidence and a severity (docs/deliver-rules.md lists them).
Run it offline with ``semgrep --metrics=off --config <semgrep_rule_dir()>`` and
``SEMGREP_ENABLE_VERSION_CHECK=0``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["RULE_PREFIX", "canonical_rule_id", "semgrep_rule_dir"]

RULE_PREFIX = "finpilot."
"""Every rule id of the pack is ``finpilot.<class>.<name>`` (three dotted parts)."""


def semgrep_rule_dir() -> Path:
    """The directory of the rule pack, for ``semgrep --config <dir>`` (package data, on disk in any install)."""
    return Path(str(files(__name__).joinpath("semgrep")))


def canonical_rule_id(check_id: str) -> str:
    """The pack's own id of a semgrep ``check_id``.

    semgrep prefixes a rule's id with the dotted path of the config it came from
    (``home.me.finpilot.deliver._rules.semgrep.finpilot.sqli.tainted-sql``), which changes with the
    install location; baselines and waivers need the stable ``finpilot.sqli.tainted-sql``.
    Ids of other packs come back unchanged.

    >>> canonical_rule_id("x.y.finpilot.deliver._rules.semgrep.finpilot.sqli.tainted-sql")
    'finpilot.sqli.tainted-sql'
    >>> canonical_rule_id("python.lang.security.audit.eval")
    'python.lang.security.audit.eval'
    """
    parts = check_id.split(".")
    if len(parts) >= 3 and parts[-3] + "." == RULE_PREFIX:
        return ".".join(parts[-3:])
    return check_id
