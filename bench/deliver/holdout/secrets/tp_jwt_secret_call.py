# expect: CWE-798 vulnerable
import jwt


def issue(sub: str) -> str:
    return jwt.encode({"sub": sub}, "n0t-so-s3cret-signing-value!", algorithm="HS256")
