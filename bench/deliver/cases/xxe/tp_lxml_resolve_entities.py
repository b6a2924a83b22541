# expect: CWE-611 vulnerable
from lxml import etree


def parse_statement(path: str):
    parser = etree.XMLParser(resolve_entities=True)
    return etree.parse(path, parser)
