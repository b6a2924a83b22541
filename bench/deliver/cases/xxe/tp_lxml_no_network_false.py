# expect: CWE-611 vulnerable
from lxml import etree
from fastapi import FastAPI, Request

api = FastAPI()
PARSER = etree.XMLParser(no_network=False)


@api.post("/iso20022")
async def iso(request: Request):
    return {"tag": etree.fromstring(await request.body(), PARSER).tag}
