# expect: CWE-532 vulnerable
import logging

logger = logging.getLogger("gateway")


def tokenize(pan: str, expiry: str) -> str:
    try:
        return pan[:6] + "token"
    except Exception:
        logger.error("tokenisation failed for %s/%s", pan, expiry)
        raise
