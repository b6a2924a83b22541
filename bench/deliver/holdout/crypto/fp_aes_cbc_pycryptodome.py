# expect: CWE-327 safe
from Crypto.Cipher import AES


def encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    return AES.new(key, AES.MODE_CBC, iv).encrypt(data)
