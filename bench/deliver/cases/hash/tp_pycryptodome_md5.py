# expect: CWE-328 vulnerable
from Crypto.Hash import MD5


def token_digest(token: bytes) -> str:
    return MD5.new(token).hexdigest()
