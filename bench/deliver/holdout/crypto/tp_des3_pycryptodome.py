# expect: CWE-327 vulnerable
from Crypto.Cipher import DES3


def encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    return DES3.new(key, DES3.MODE_CBC, iv).encrypt(data)
