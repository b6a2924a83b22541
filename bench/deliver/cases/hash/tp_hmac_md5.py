# expect: CWE-328 vulnerable
import hashlib
import hmac


def webhook_signature(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.md5).hexdigest()
