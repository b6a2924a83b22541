# expect: CWE-798 safe
import os

API_KEY_ENV = "ACQUIRER_API_KEY"
TOKEN_HEADER = "Authorization"


def api_key() -> str:
    return os.environ[API_KEY_ENV]
