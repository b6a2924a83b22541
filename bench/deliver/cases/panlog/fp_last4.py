# expect: CWE-532 safe
import logging


def check(card_number: str, cvv: str) -> bool:
    logging.debug("checking card ending %s", card_number[-4:])
    return len(cvv) == 3
