# expect: CWE-330 vulnerable
import hashlib
import random


def hash_password(password: str) -> bytes:
    salt = random.randbytes(16)
    return salt + hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 200_000)
