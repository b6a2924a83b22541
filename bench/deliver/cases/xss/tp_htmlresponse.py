# expect: CWE-79 vulnerable
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

api = FastAPI()


@api.get("/receipt/{merchant}")
def receipt(merchant: str):
    return HTMLResponse("<div class=merchant>%s</div>" % merchant)
