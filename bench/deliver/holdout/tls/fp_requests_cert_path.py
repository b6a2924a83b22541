# expect: CWE-295 safe
import requests


def post(url: str, body: dict) -> int:
    with requests.Session() as s:
        return s.post(url, json=body, verify="/etc/ssl/certs/bank-ca.pem", timeout=5).status_code
