# expect: CWE-328 vulnerable
import hashlib


def card_fingerprint(pan: str) -> str:
    return hashlib.sha1(pan.encode("ascii")).hexdigest()
