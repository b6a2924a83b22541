# expect: CWE-643 safe
import xml.etree.ElementTree as ET
from fastapi import FastAPI

api = FastAPI()


@api.get("/branch/{code}")
def branch(code: str):
    root = ET.parse("branches.xml").getroot()
    match = [b for b in root.findall("./branch") if b.get("code") == code]
    return {"name": match[0].get("name") if match else None}
