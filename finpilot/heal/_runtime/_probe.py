"""Health probes: one HTTP GET, TCP connect or command, bounded by the probe's timeout."""

from __future__ import annotations

import socket
import subprocess

from finpilot.core import ProbeSpec


def _http(host: str, port: int, path: str, timeout: float) -> bool:
    # A raw HTTP/1.0 GET: no client library start-up or pooling, and a hung replica (SIGSTOP)
    # shows up as a timeout on connect or read, which is exactly what liveness must catch.
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        head = sock.recv(64)
    parts = head.split(b" ", 2)
    return len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1][:1] in {b"2", b"3"}


def run_probe(probe: ProbeSpec, host: str, port: int | None) -> bool:
    """Run ``probe`` once against a replica; True when it passes. Never raises."""
    try:
        if probe.http is not None and port is not None:
            return _http(host, port, probe.http, probe.timeout_s)
        if probe.tcp and port is not None:
            with socket.create_connection((host, port), timeout=probe.timeout_s):
                return True
        if probe.exec is not None:
            done = subprocess.run(probe.exec, capture_output=True, timeout=probe.timeout_s, check=False)
            return done.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
    return False
