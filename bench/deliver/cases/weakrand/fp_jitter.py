# expect: CWE-330 safe
import random
import time


def backoff(attempt: int) -> None:
    delay = min(30.0, 2**attempt) * random.uniform(0.5, 1.5)
    time.sleep(delay)
