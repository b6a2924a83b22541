# expect: CWE-327 vulnerable
from Crypto.Cipher import DES


def encrypt_pin_block(key: bytes, block: bytes) -> bytes:
    return DES.new(key, DES.MODE_ECB).encrypt(block)
