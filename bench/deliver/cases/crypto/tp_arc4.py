# expect: CWE-327 vulnerable
from Crypto.Cipher import ARC4


def obfuscate(key: bytes, data: bytes) -> bytes:
    return ARC4.new(key).encrypt(data)
