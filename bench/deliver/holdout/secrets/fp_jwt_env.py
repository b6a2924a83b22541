# expect: CWE-798 safe
import os
import jwt


def issue(sub: str) -> str:
    return jwt.encode({"sub": sub}, os.environ["JWT_SECRET"], algorithm="HS256")
