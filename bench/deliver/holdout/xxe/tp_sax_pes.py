# expect: CWE-611 vulnerable
import xml.sax
from xml.sax import handler


def read(stream):
    p = xml.sax.make_parser()
    p.setFeature(handler.feature_external_pes, True)
    p.setFeature(handler.feature_external_ges, True)
    p.parse(stream)
