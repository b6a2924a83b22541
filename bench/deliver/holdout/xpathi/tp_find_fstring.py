# expect: CWE-643 vulnerable
import xml.etree.ElementTree as ET
from fastapi import FastAPI

api = FastAPI()


@api.get("/branch/{code}")
def branch(code: str):
    root = ET.parse("branches.xml").getroot()
    node = root.find(f"./branch[@code='{code}']")
    return {"name": node.get("name") if node is not None else None}
