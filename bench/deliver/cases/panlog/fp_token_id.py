# expect: CWE-532 safe
import logging

log = logging.getLogger("tokens")


class Token:
    def __init__(self, id: str, secret: str) -> None:
        self.id = id
        self.secret = secret


def revoke(token: Token) -> None:
    log.info("revoked token %s", token.id)
