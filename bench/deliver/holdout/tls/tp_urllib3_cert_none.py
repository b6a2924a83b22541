# expect: CWE-295 vulnerable
import ssl
import urllib3


def pool() -> urllib3.PoolManager:
    return urllib3.PoolManager(cert_reqs=ssl.CERT_NONE)
