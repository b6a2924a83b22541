# expect: CWE-330 safe
import random
import string

_rng = random.SystemRandom()


def otp() -> str:
    code = "".join(_rng.choice(string.digits) for _ in range(6))
    return code
