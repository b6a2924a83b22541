# expect: CWE-532 vulnerable
import logging

log = logging.getLogger("payments")


def authorize(pan: str, amount: int) -> None:
    log.info("authorizing %s for %d", pan, amount)
