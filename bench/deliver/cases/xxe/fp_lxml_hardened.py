# expect: CWE-611 safe
from lxml import etree


def parse_statement(path: str):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.parse(path, parser)
