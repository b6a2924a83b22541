# expect: CWE-611 vulnerable
import xml.sax
from xml.sax.handler import feature_external_ges


def parse(stream) -> None:
    parser = xml.sax.make_parser()
    parser.setFeature(feature_external_ges, True)
    parser.parse(stream)
