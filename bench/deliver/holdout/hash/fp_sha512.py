# expect: CWE-328 safe
import hashlib


def signature(body: bytes) -> str:
    return hashlib.new(name="sha512", data=body).hexdigest()
