# expect: CWE-328 vulnerable
import hashlib


def signature(body: bytes) -> str:
    return hashlib.new(name="sha1", data=body).hexdigest()
