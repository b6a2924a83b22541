# expect: CWE-327 safe
from Crypto.Cipher import AES


def stream(key: bytes, nonce: bytes, data: bytes) -> bytes:
    return AES.new(key, AES.MODE_CTR, nonce=nonce).encrypt(data)
