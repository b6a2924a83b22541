# expect: CWE-295 safe
import requests


class Gateway:
    def __init__(self) -> None:
        self.session = requests.Session()
        self.session.verify = True
