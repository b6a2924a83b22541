# expect: CWE-330 vulnerable
import random


def send_otp(phone: str) -> int:
    otp = random.randint(100000, 999999)
    return otp
