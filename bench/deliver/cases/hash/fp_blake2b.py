# expect: CWE-328 safe
import hashlib


def etag(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()
