"""Two service instances on one database (as two processes would be) cannot overdraw an account."""

from __future__ import annotations

import threading

from finpilot_payments import AllowAllDecider, PaymentsService, PaymentsSettings, open_database


def test_concurrent_payments_from_two_instances_never_overdraw(backend: PaymentsSettings) -> None:
    dbs = [open_database(backend), open_database(backend)]
    try:
        one, two = (PaymentsService(db, AllowAllDecider()) for db in dbs)
        settlement = one.create_account("s", {"kind": "settlement", "currency": "EUR", "overdraft_limit": 0})
        customer = one.create_account("c", {"kind": "customer", "currency": "EUR", "overdraft_limit": 0})
        merchant = one.create_account("m", {"kind": "merchant", "currency": "EUR", "overdraft_limit": 0})
        s, c, m = (o.body["id"] for o in (settlement, customer, merchant))
        one.transfer("fund", {"from_account": s, "to_account": c, "amount": 1_000, "currency": "EUR"})
        card = one.add_card("card", {"account_id": c, "pan": "4111111111111111"}).body["token"]
        statuses: list[int] = []
        lock = threading.Lock()

        def pay(service: PaymentsService, worker: int) -> None:
            for i in range(10):
                body = {"card_token": card, "merchant_id": m, "amount": 100, "currency": "EUR"}
                try:
                    status = service.authorize(f"w{worker}-{i}", body).status
                except Exception as exc:
                    status = getattr(exc, "status", 500)
                with lock:
                    statuses.append(status)

        threads = [threading.Thread(target=pay, args=(svc, n)) for n, svc in enumerate([one, two, one, two])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(set(statuses)) == [201, 402]
        assert statuses.count(201) == 10
        assert two.account(c)["held"] == 1_000
        assert two.check_books().balanced
    finally:
        for db in dbs:
            db.close()
