# expect: CWE-532 vulnerable
from dataclasses import dataclass


@dataclass
class Card:
    card_number: str
    expiry: str


def debug_dump(card: Card) -> None:
    print("card", card.card_number, card.expiry)
