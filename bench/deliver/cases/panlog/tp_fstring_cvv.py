# expect: CWE-532 vulnerable
import logging


def check(card_number: str, cvv: str) -> bool:
    logging.debug(f"checking card {card_number} cvv {cvv}")
    return len(cvv) == 3
