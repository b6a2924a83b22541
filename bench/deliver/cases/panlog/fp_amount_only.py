# expect: CWE-532 safe
import logging

log = logging.getLogger("payments")


def capture(payment_id: str, amount: int, currency: str) -> None:
    log.info("captured %s: %d %s", payment_id, amount, currency)
