# expect: CWE-295 safe
import requests


def fetch_rates() -> dict:
    return requests.get("https://rates.example/eur", timeout=5).json()
