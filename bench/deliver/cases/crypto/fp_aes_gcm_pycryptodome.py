# expect: CWE-327 safe
from Crypto.Cipher import AES


def encrypt(key: bytes, data: bytes) -> tuple[bytes, bytes, bytes]:
    cipher = AES.new(key, AES.MODE_GCM)
    ct, tag = cipher.encrypt_and_digest(data)
    return cipher.nonce, ct, tag
