# expect: CWE-532 vulnerable
import logging

logger = logging.getLogger("auth")


def login(user: str, password: str) -> None:
    logger.warning("failed login for %s (password %s)", user, password)
