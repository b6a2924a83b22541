# expect: CWE-327 safe
from cryptography.fernet import Fernet


def seal(key: bytes, data: bytes) -> bytes:
    return Fernet(key).encrypt(data)
