# expect: CWE-295 vulnerable
import requests


def fetch_rates() -> dict:
    return requests.get("https://rates.example/eur", timeout=5, verify=False).json()
