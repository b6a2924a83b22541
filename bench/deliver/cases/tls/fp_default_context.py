# expect: CWE-295 safe
import ssl
import urllib.request


def download(url: str) -> bytes:
    ctx = ssl.create_default_context()
    with urllib.request.urlopen(url, context=ctx) as resp:
        return resp.read()
