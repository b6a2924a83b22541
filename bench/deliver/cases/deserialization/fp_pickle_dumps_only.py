# expect: CWE-502 safe
import pickle
from pathlib import Path


def save_model(model: object, path: Path) -> None:
    path.write_bytes(pickle.dumps(model))
