# expect: CWE-328 safe
import hashlib
import hmac


def card_fingerprint(key: bytes, pan: str) -> str:
    return hmac.new(key, pan.encode("ascii"), hashlib.sha256).hexdigest()
