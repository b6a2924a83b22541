# expect: CWE-532 safe
import logging

logger = logging.getLogger("gateway")


def tokenize(pan: str, expiry: str) -> str:
    try:
        return pan[:6] + "token"
    except Exception:
        logger.error("tokenisation failed (expiry %s)", expiry)
        raise
