# expect: CWE-330 safe
import random


def carousel(offers: list[str]) -> list[str]:
    shown = list(offers)
    random.shuffle(shown)
    return shown[:3]
