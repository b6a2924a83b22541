# expect: CWE-643 safe
from lxml import etree

ACTIVE = "//account[@status='active']"


def active(path: str) -> int:
    return len(etree.parse(path).xpath(ACTIVE))
