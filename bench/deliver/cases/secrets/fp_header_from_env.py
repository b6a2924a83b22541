# expect: CWE-798 safe
import os
import httpx


def client() -> httpx.Client:
    return httpx.Client(headers={"Authorization": "Bearer " + os.environ["ACQUIRER_TOKEN"]})
