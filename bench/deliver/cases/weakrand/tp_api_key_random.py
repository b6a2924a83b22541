# expect: CWE-330 vulnerable
import random


class KeyFactory:
    def issue(self) -> str:
        self.api_key = "%032x" % random.randrange(16**32)
        return self.api_key
