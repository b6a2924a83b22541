# expect: CWE-295 vulnerable
import httpx


def acquirer() -> httpx.Client:
    return httpx.Client(base_url="https://acquirer.example", verify=False, timeout=3.0)
