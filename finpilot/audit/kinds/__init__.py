"""Every declared audit entry kind, one constant each, grouped by the capability that writes it.

Writers build entries through these: ``FRAUD_DECISION.entry(actor=..., evidence=...)``. The
registry they fill is :data:`finpilot.audit.KINDS`; ``finpilot audit kinds`` lists it and
``docs/audit-kinds.md`` is generated from it.
"""

from finpilot.audit.kinds._audit import AUDIT_ERASURE, ErasureEvidence
from finpilot.audit.kinds._ops import OPS_MANUAL_CHANGE, ManualChangeEvidence

__all__ = [
    "AUDIT_ERASURE",
    "OPS_MANUAL_CHANGE",
    "ErasureEvidence",
    "ManualChangeEvidence",
]
