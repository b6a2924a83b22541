# expect: CWE-798 vulnerable
import hmac
import hashlib

WEBHOOK_SECRET = "whsec_9aF3kL0pQ7rT2vX8zB4nM6"


def sign(body: bytes) -> str:
    return hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
