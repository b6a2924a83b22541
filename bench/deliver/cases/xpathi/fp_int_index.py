# expect: CWE-643 safe
from fastapi import FastAPI
from lxml import etree

api = FastAPI()
DOC = etree.parse("limits.xml")


@api.get("/limits/{n}")
def limits(n: int):
    return {"value": DOC.xpath("//limit[%d]/value/text()" % int(n))}
