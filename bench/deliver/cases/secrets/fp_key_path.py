# expect: CWE-798 safe
from pathlib import Path

SIGNING_KEY_PATH = Path("/var/lib/finpilot/keys/release-signing.pem")
PRIVATE_KEY_FILE = "release-signing.pem"


def load_key() -> bytes:
    return SIGNING_KEY_PATH.read_bytes()
