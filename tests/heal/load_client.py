"""``python load_client.py HOST PORT RATE PATH``: keep-alive GET traffic until stdin closes, then a JSON summary.

A separate process, so the client does not share an interpreter (and its GIL) with the
router under test.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time


def main() -> None:
    host, port, rate, path = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    workers = 32
    interval = workers / rate
    lock = threading.Lock()
    ok = [0]
    failures: list[str] = []
    stop = threading.Event()

    def worker() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        next_at = time.monotonic()
        while not stop.is_set():
            next_at += interval
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                problem = None if response.status == 200 else f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as exc:
                problem = f"{type(exc).__name__}: {exc}"
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
            with lock:
                if problem is None:
                    ok[0] += 1
                else:
                    failures.append(f"{time.time():.3f} {problem}")
            time.sleep(max(0.0, next_at - time.monotonic()))
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    sys.stdout.write("started\n")
    sys.stdout.flush()
    sys.stdin.read()
    stop.set()
    for thread in threads:
        thread.join(15)
    seconds = time.monotonic() - started
    print(json.dumps({"ok": ok[0], "failures": failures, "seconds": seconds}))


if __name__ == "__main__":
    main()
