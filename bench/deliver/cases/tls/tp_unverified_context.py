# expect: CWE-295 vulnerable
import ssl
import urllib.request


def download(url: str) -> bytes:
    ctx = ssl._create_unverified_context()
    with urllib.request.urlopen(url, context=ctx) as resp:
        return resp.read()
