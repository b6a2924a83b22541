# expect: CWE-643 vulnerable
from fastapi import FastAPI
from lxml import etree

api = FastAPI()
DOC = etree.parse("limits.xml")


@api.get("/limits/{product}")
def limits(product: str):
    find = etree.XPath("//limit[product='%s']/value" % product)
    return {"values": [v.text for v in find(DOC)]}
