# expect: CWE-327 safe
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def seal(key: bytes, nonce: bytes, data: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    return enc.update(data) + enc.finalize() + enc.tag
