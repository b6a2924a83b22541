# expect: CWE-611 safe
from lxml import etree

TEMPLATE = "<Document><Amt Ccy='EUR'>0</Amt></Document>"


def template():
    return etree.fromstring(TEMPLATE)
