# expect: CWE-295 safe
import httpx

CA = "/etc/finpilot/acquirer-ca.pem"


def acquirer() -> httpx.Client:
    return httpx.Client(base_url="https://acquirer.example", verify=CA, timeout=3.0)
