# expect: CWE-1339 vulnerable
def refund(request: dict) -> dict:
    refund_amount = float(request["refund"])
    return {"refund": round(refund_amount, 2)}
