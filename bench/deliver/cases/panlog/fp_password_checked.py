# expect: CWE-532 safe
import hmac
import logging

logger = logging.getLogger("auth")


def login(user: str, password: str, stored: str) -> bool:
    ok = hmac.compare_digest(password, stored)
    logger.info("login for %s: %s", user, "ok" if ok else "refused")
    return ok
