# expect: CWE-1339 vulnerable
from dataclasses import dataclass, field


@dataclass
class Invoice:
    number: str
    subtotal: float = 0.0
    lines: list[str] = field(default_factory=list)
