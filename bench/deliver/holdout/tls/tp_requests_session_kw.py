# expect: CWE-295 vulnerable
import requests


def post(url: str, body: dict) -> int:
    with requests.Session() as s:
        return s.post(url, json=body, verify=False, timeout=5).status_code
