# expect: CWE-327 vulnerable
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def encrypt_pan(key: bytes, padded: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(padded) + enc.finalize()
