# expect: CWE-532 safe
import logging

log = logging.getLogger("payments")


def mask_pan(pan: str) -> str:
    return "*" * (len(pan) - 4) + pan[-4:]


def authorize(pan: str, amount: int) -> None:
    log.info("authorizing %s for %d", mask_pan(pan), amount)
