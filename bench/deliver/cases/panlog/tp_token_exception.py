# expect: CWE-532 vulnerable
import logging

import httpx

log = logging.getLogger("acquirer")


def call(access_token: str) -> None:
    try:
        httpx.get("https://acquirer.example", headers={"Authorization": access_token})
    except httpx.HTTPError:
        log.exception("acquirer call failed with token %s", access_token)
