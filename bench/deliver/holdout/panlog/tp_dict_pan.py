# expect: CWE-532 vulnerable
import logging

log = logging.getLogger(__name__)


def on_payment(payload: dict) -> None:
    log.info("payment received for card %s", payload["card_number"])
