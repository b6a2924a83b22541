# expect: CWE-330 safe
import random


def sample_for_review(payment_ids: list[str], k: int = 10) -> list[str]:
    picked = random.sample(payment_ids, min(k, len(payment_ids)))
    return picked
