# expect: CWE-328 vulnerable
from cryptography.hazmat.primitives import hashes


def digest(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SHA1())
    h.update(data)
    return h.finalize()
