# expect: CWE-798 vulnerable
import httpx


def client() -> httpx.Client:
    return httpx.Client(headers={"Authorization": "Bearer sk_live_4eC39HqLyjWDarjtT1zdp7dc"})
