# expect: CWE-1339 safe
import os


def settings() -> dict:
    timeout = float(os.environ.get("TIMEOUT_S", "0.5"))
    ratio = float(os.environ.get("SAMPLE_RATIO", "0.1"))
    return {"timeout": timeout, "ratio": ratio}
