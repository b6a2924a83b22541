# expect: CWE-327 vulnerable
from Crypto.Cipher import Blowfish


def encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    return Blowfish.new(key, Blowfish.MODE_CBC, iv).encrypt(data)
