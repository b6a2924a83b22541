# expect: CWE-79 safe
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from markupsafe import escape

api = FastAPI()


@api.get("/receipt/{merchant}")
def receipt(merchant: str):
    return HTMLResponse("<div class=merchant>%s</div>" % escape(merchant))
