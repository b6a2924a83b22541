# expect: CWE-1339 vulnerable
def parse_price(text: str) -> float:
    price = float(text.replace(",", ""))
    return price
