# expect: CWE-295 vulnerable
import requests


class Gateway:
    def __init__(self) -> None:
        self.session = requests.Session()
        self.session.verify = False
