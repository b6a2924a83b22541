# expect: CWE-798 vulnerable
class Settings:
    def __init__(self) -> None:
        self.api_key = "AKIAIOSFODNN7EXAMPLEKEY"
        self.region = "eu-west-1"
