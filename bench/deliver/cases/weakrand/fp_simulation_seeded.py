# expect: CWE-330 safe
import random


def synthetic_amounts(n: int, seed: int = 7) -> list[int]:
    rng = random.Random(seed)
    amounts = [rng.randint(100, 50_000) for _ in range(n)]
    return amounts
