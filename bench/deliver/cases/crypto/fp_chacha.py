# expect: CWE-327 safe
import os
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305


def seal(key: bytes, data: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + ChaCha20Poly1305(key).encrypt(nonce, data, b"payments")
