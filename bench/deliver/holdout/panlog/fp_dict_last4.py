# expect: CWE-532 safe
import logging

log = logging.getLogger(__name__)


def on_payment(payload: dict) -> None:
    log.info("payment received for card ending %s", payload["card_number"][-4:])
