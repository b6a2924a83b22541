# expect: CWE-295 safe
import httpx


def scheme_client(cert: str, key: str) -> httpx.Client:
    return httpx.Client(cert=(cert, key), verify="/etc/finpilot/scheme-ca.pem")
