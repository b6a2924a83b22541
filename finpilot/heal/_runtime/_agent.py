"""The node agent: ``python -m finpilot.heal._runtime._agent --node NAME``, one OS process per local node.

It supervises the replicas the controller places on its node: starts them (forked from a
pre-imported zygote when the service is a Python module), restarts them with back-off when they exit, probes
them, and kills and replaces a replica whose liveness probe fails. Restarting here, next to
the process, rather than in the controller keeps a crash's recovery off the controller's
round-trip.

The controller is the agent's parent and talks to it over the agent's stdin/stdout, one JSON
object per line; only the parent holds those pipes, so no further authentication is needed.

controller -> agent: ``start`` (instance, service, index, port, spec, log), ``stop`` (instance), ``exit``.
agent -> controller: ``hb`` (every heartbeat period, with every instance's state), ``ready`` (on a
change), ``event`` (an automated action with its evidence, sent *before* the action is taken,
so the controller's audit entry precedes or accompanies its effect).

The agent dies with the controller (``PR_SET_PDEATHSIG``) and its replicas die with it, so
killing an agent is a real node failure.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Protocol

from finpilot.audit import EntryKind
from finpilot.audit.kinds import HEAL_RESTART, HEAL_START
from finpilot.core import ConfigError, ServiceSpec, resolve_secret
from finpilot.heal._runtime._backoff import Backoff
from finpilot.heal._runtime._launch import die_with_parent
from finpilot.heal._runtime._probe import run_probe

_TICK_S = 0.01
_STARTUP_POLL_S = 0.02
_STOP_GRACE_S = 5.0
HOST = "127.0.0.1"


def expand_args(spec: ServiceSpec, *, port: int, index: int) -> list[str]:
    """The replica's arguments with ``{port}`` and ``{replica}`` filled in."""
    return [arg.replace("{port}", str(port)).replace("{replica}", str(index)) for arg in spec.args]


def _zygote_key(service: str, spec: ServiceSpec) -> str:
    """One zygote per service and launch environment (module, env values, secret references)."""
    secrets = {k: v.model_dump(mode="json") for k, v in spec.secrets.items()}
    launch = {"module": spec.module, "env": dict(spec.env), "secrets": secrets}
    digest = hashlib.sha256(json.dumps(launch, sort_keys=True).encode()).hexdigest()[:16]
    return f"{service}#{digest}"


def replica_env(spec: ServiceSpec, base: dict[str, str]) -> dict[str, str]:
    """Environment for a replica: the host's, the spec's plain values, and secrets resolved by reference."""
    env = dict(base)
    env.update(spec.env)
    for name, ref in spec.secrets.items():
        # Errors name the setting and the variable or file, never a value.
        env[name] = os.fsdecode(resolve_secret(ref, field=f"secrets.{name}", environ=base))
    return env


class _Proc(Protocol):
    @property
    def pid(self) -> int | None: ...
    def poll(self) -> int | None: ...
    def send_signal(self, sig: int) -> None: ...


class _Child:
    """A replica forked by a zygote: not our child, so its exit comes from the zygote's report."""

    def __init__(self) -> None:
        self._pid: int | None = None
        self.returncode: int | None = None
        self._wanted: list[int] = []

    @property
    def pid(self) -> int | None:
        return self._pid

    def forked(self, pid: int) -> None:
        self._pid = pid
        for sig in self._wanted:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def poll(self) -> int | None:
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is not None:
            return
        if self._pid is None:
            self._wanted.append(sig)  # not forked yet (the zygote is still importing): deliver on fork
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, sig)


class _Zygote:
    """The fork server of one module service on this node (see ``finpilot.heal._runtime._launch``)."""

    def __init__(self, spec: ServiceSpec) -> None:
        assert spec.module is not None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "finpilot.heal._runtime._launch", "--zygote", spec.module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=replica_env(spec, dict(os.environ)),
            close_fds=True,
        )
        self._lock = threading.Lock()
        self._by_id: dict[str, _Child] = {}
        self._by_pid: dict[int, _Child] = {}
        self._seq = 0
        threading.Thread(target=self._read, daemon=True).start()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def fork(self, argv: list[str], log: str) -> _Child:
        child = _Child()
        with self._lock:
            self._seq += 1
            key = str(self._seq)
            self._by_id[key] = child
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"id": key, "argv": argv, "log": log}).encode() + b"\n")
        self.proc.stdin.flush()
        return child

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue  # not ours: a forked child wrote before redirecting its output
            with self._lock:
                if "pid" in message:
                    child = self._by_id.pop(message["id"])
                    self._by_pid[message["pid"]] = child
                    child.forked(message["pid"])
                elif "exit" in message:
                    done = self._by_pid.pop(message["exit"], None)
                    if done is not None:
                        done.returncode = message["code"]
        # The zygote is gone; its children died with it (PR_SET_PDEATHSIG).
        with self._lock:
            for child in [*self._by_id.values(), *self._by_pid.values()]:
                if child.returncode is None:
                    child.returncode = -signal.SIGKILL

    def busy(self) -> bool:
        """Whether a child it forked (or is about to fork) may still run."""
        with self._lock:
            return bool(self._by_id) or any(c.returncode is None for c in self._by_pid.values())

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.proc.kill()
        self.proc.wait()


class _Instance:
    def __init__(self, order: dict[str, Any]) -> None:
        self.id: str = order["instance"]
        self.service: str = order["service"]
        self.index: int = order["index"]
        self.port: int = order["port"]
        self.log: str = order["log"]
        self.spec = ServiceSpec.model_validate(order["spec"])
        self.backoff = Backoff(self.spec.restart)
        self.proc: _Proc | None = None
        self.state = "starting"
        self.ready = False
        self.gen = 0
        self.started_mono = 0.0
        self.restart_at: float | None = None
        self.live_failed: dict[str, Any] | None = None
        self.stopping_since: float | None = None
        self.last_exit: int | None = None

    def view(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "index": self.index,
            "port": self.port,
            "pid": self.proc.pid if self.proc is not None and self.proc.poll() is None else None,
            "state": self.state,
            "ready": self.ready,
            "restarts": self.backoff.restarts,
            "last_exit": self.last_exit,
        }


class Agent:
    """One node's supervisor (see the module docstring). ``run()`` returns when the controller says ``exit``."""

    def __init__(self, node: str, *, heartbeat_s: float, out: IO[str], inp: IO[str]) -> None:
        self.node = node
        self.heartbeat_s = heartbeat_s
        self._out = out
        self._in = inp
        self._lock = threading.RLock()
        self._write_lock = threading.Lock()
        self._instances: dict[str, _Instance] = {}
        self._zygotes: dict[str, _Zygote] = {}
        self._done = threading.Event()

    # ------------------------------------------------------------------ messages
    def send(self, message: dict[str, Any]) -> None:
        """Write one message to the controller; a closed pipe means the controller is gone."""
        line = json.dumps(message, separators=(",", ":")) + "\n"
        with self._write_lock:
            try:
                self._out.write(line)
                self._out.flush()
            except (BrokenPipeError, ValueError, OSError):
                self._done.set()

    def _event(
        self, inst: _Instance, kind: EntryKind[Any], action: str, outcome: str, evidence: dict[str, Any]
    ) -> None:
        self.send(
            {
                "op": "event",
                "kind": kind.name,
                "action": action,
                "outcome": outcome,
                "instance": inst.id,
                "evidence": {"node": self.node, "instance": inst.id, **evidence},
            }
        )

    def _set_ready(self, inst: _Instance, ready: bool, gen: int) -> None:
        with self._lock:
            if inst.gen != gen or inst.ready == ready:
                return
            inst.ready = ready
            if ready:
                inst.state = "running"
            # The pid goes with "ready": a replica that serves must be one the controller can act on,
            # without waiting for the next heartbeat.
            pid = inst.proc.pid if inst.proc is not None else None
        self.send({"op": "ready", "instance": inst.id, "ready": ready, "pid": pid, "t": time.time()})

    # ------------------------------------------------------------------ processes
    def _close_idle_zygotes(self, service: str) -> None:
        """Close ``service``'s zygotes whose replicas have all exited (a superseded env's, say)."""
        for key, zygote in list(self._zygotes.items()):
            if key.startswith(f"{service}#") and not zygote.busy():
                del self._zygotes[key]
                zygote.close()

    def _start(self, inst: _Instance) -> None:
        argv = expand_args(inst.spec, port=inst.port, index=inst.index)
        inst.gen += 1
        inst.ready = False
        inst.live_failed = None
        inst.state = "starting"
        inst.restart_at = None
        try:
            if inst.spec.module is not None:
                # Children inherit the zygote's environment, so one zygote serves one spec env: a
                # release arm declared again with another env (or a promoted stable revision) needs
                # a new one, or its replicas would run the previous release.
                key = _zygote_key(inst.service, inst.spec)
                zygote = self._zygotes.get(key)
                if zygote is None or not zygote.alive():
                    self._close_idle_zygotes(inst.service)
                    zygote = self._zygotes[key] = _Zygote(inst.spec)
                inst.proc = zygote.fork(argv, inst.log)
            else:
                assert inst.spec.command is not None
                inst.proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "finpilot.heal._runtime._launch",
                        "--exec",
                        inst.log,
                        "--",
                        *inst.spec.command,
                        *argv,
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=replica_env(inst.spec, dict(os.environ)),
                    close_fds=True,
                )
        except (ConfigError, OSError) as exc:
            inst.proc = None
            inst.state = "failed"
            self._event(inst, HEAL_START, "start", "failed", {"reason": str(exc)})
            inst.restart_at = time.monotonic() + inst.backoff.next_delay()
            return
        inst.started_mono = time.monotonic()
        inst.backoff.started()
        threading.Thread(target=self._probe_loop, args=(inst, inst.gen), daemon=True).start()

    def _probe_loop(self, inst: _Instance, gen: int) -> None:
        probes = inst.spec.probes
        first = probes.startup or probes.readiness
        # Startup: poll fast until the first pass, so a restarted replica rejoins the router at once.
        if first is not None:
            deadline = time.monotonic() + first.initial_delay_s + first.interval_s * first.failure_threshold + 30.0
            time.sleep(first.initial_delay_s)
            while inst.gen == gen and not self._done.is_set():
                if run_probe(first, HOST, inst.port):
                    break
                if time.monotonic() > deadline:
                    with self._lock:
                        if inst.gen == gen:
                            inst.live_failed = {"probe": "startup", "reason": "never passed"}
                    return
                time.sleep(_STARTUP_POLL_S)
        if inst.gen != gen:
            return
        self._set_ready(inst, True, gen)
        # Liveness on its own thread: a hung replica makes every probe wait its full timeout,
        # and readiness must not delay the probe that decides to replace it.
        if probes.liveness is not None:
            threading.Thread(target=self._liveness_loop, args=(inst, gen), daemon=True).start()
        readiness = probes.readiness
        if readiness is None:
            return
        failures = 0
        while inst.gen == gen and not self._done.wait(readiness.interval_s):
            # Like liveness, one slow answer is not enough to drop a replica: it takes
            # failure_threshold in a row (a pass restores it at once).
            if run_probe(readiness, HOST, inst.port):
                failures = 0
                self._set_ready(inst, True, gen)
            else:
                failures += 1
                if failures >= readiness.failure_threshold:
                    self._set_ready(inst, False, gen)

    def _liveness_loop(self, inst: _Instance, gen: int) -> None:
        probe = inst.spec.probes.liveness
        assert probe is not None
        failures = 0
        first_failure = 0.0
        # Periods run from the start of one probe to the start of the next, as Kubernetes does,
        # so a hang is caught after failure_threshold x max(period, timeout).
        next_at = time.monotonic() + probe.initial_delay_s + probe.interval_s
        while inst.gen == gen and not self._done.is_set():
            delay = next_at - time.monotonic()
            if delay > 0:
                self._done.wait(min(delay, 0.1))
                continue
            started = time.monotonic()
            next_at = started + probe.interval_s
            if run_probe(probe, HOST, inst.port):
                failures = 0
                continue
            if failures == 0:
                first_failure = started
            failures += 1
            if failures >= probe.failure_threshold:
                with self._lock:
                    if inst.gen == gen:
                        inst.live_failed = {
                            "probe": "liveness",
                            "failures": failures,
                            "first_failure_to_detection_s": round(time.monotonic() - first_failure, 3),
                            "period_s": probe.interval_s,
                            "timeout_s": probe.timeout_s,
                            "failure_threshold": probe.failure_threshold,
                        }
                return

    def _supervise_once(self) -> None:
        now = time.monotonic()
        with self._lock:
            for inst in list(self._instances.values()):
                proc = inst.proc
                if inst.stopping_since is not None:
                    if proc is None or proc.poll() is not None:
                        del self._instances[inst.id]
                    elif now - inst.stopping_since > _STOP_GRACE_S:
                        proc.send_signal(signal.SIGKILL)
                    continue
                if inst.live_failed is not None and proc is not None and proc.poll() is None:
                    evidence = {**inst.live_failed, "pid": proc.pid, "uptime_s": round(now - inst.started_mono, 3)}
                    self._event(inst, HEAL_RESTART, "kill-and-replace", "ok", evidence)
                    inst.live_failed = None
                    inst.gen += 1  # stop the old probe loop now
                    if inst.ready:
                        inst.ready = False
                        self.send({"op": "ready", "instance": inst.id, "ready": False, "t": time.time()})
                    proc.send_signal(signal.SIGKILL)  # SIGKILL works on a stopped (hung) process too
                    continue
                code = proc.poll() if proc is not None else None
                if proc is not None and inst.restart_at is None and code is not None:
                    inst.last_exit = code
                    inst.gen += 1
                    if inst.ready:
                        inst.ready = False
                        self.send({"op": "ready", "instance": inst.id, "ready": False, "t": time.time()})
                    uptime = round(now - inst.started_mono, 3)
                    if not inst.backoff.should_restart(code if code is None or code >= 0 else None):
                        inst.state = "exited"
                        self._event(inst, HEAL_RESTART, "none", "policy", {"exit": code, "uptime_s": uptime})
                        inst.restart_at = float("inf")
                        continue
                    delay = inst.backoff.next_delay()
                    inst.state = "backoff"
                    inst.restart_at = now + delay
                    self._event(
                        inst,
                        HEAL_RESTART,
                        "restart",
                        "ok",
                        {
                            "exit": code,
                            "signal": -code if code is not None and code < 0 else None,
                            "uptime_s": uptime,
                            "restarts": inst.backoff.restarts,
                            "backoff_s": round(delay, 3),
                        },
                    )
                if inst.restart_at is not None and now >= inst.restart_at:
                    self._start(inst)

    # ------------------------------------------------------------------ orders
    def _handle(self, order: dict[str, Any]) -> None:
        op = order.get("op")
        with self._lock:
            if op == "start":
                if order["instance"] in self._instances:
                    return
                inst = _Instance(order)
                self._instances[inst.id] = inst
                self._start(inst)
            elif op == "stop":
                found = self._instances.get(order["instance"])
                if found is not None and found.stopping_since is None:
                    found.stopping_since = time.monotonic()
                    found.gen += 1
                    found.state = "stopping"
                    found.ready = False
                    if found.proc is not None and found.proc.poll() is None:
                        with contextlib.suppress(ProcessLookupError):
                            found.proc.send_signal(signal.SIGTERM)
                            found.proc.send_signal(signal.SIGCONT)  # a hung replica must be able to take SIGTERM
            elif op == "exit":
                self._done.set()

    def _read_orders(self) -> None:
        for line in self._in:
            if not line.strip():
                continue
            self._handle(json.loads(line))
        self._done.set()  # the controller is gone

    def _heartbeats(self) -> None:
        while not self._done.is_set():
            with self._lock:
                views = {inst.id: inst.view() for inst in self._instances.values()}
            self.send({"op": "hb", "node": self.node, "t": time.time(), "instances": views})
            self._done.wait(self.heartbeat_s)

    def run(self) -> None:
        """Serve until told to exit or the controller goes away; then stop every replica."""
        self.send({"op": "hello", "node": self.node, "pid": os.getpid()})
        threading.Thread(target=self._read_orders, daemon=True).start()
        threading.Thread(target=self._heartbeats, daemon=True).start()
        while not self._done.is_set():
            self._supervise_once()
            time.sleep(_TICK_S)
        self.shutdown()

    def shutdown(self) -> None:
        """Stop replicas (SIGTERM, then SIGKILL after a grace period), then the zygotes."""
        with self._lock:
            procs = [inst.proc for inst in self._instances.values() if inst.proc is not None]
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + _STOP_GRACE_S
        while any(proc.poll() is None for proc in procs) and time.monotonic() < deadline:
            time.sleep(_TICK_S)
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        for zygote in self._zygotes.values():
            zygote.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the agent process."""
    parser = argparse.ArgumentParser(prog="python -m finpilot.heal._runtime._agent")
    parser.add_argument("--node", required=True)
    parser.add_argument("--heartbeat-s", type=float, default=0.3)
    parser.add_argument("--log-dir", type=Path)
    args = parser.parse_args(argv)
    die_with_parent()
    # The protocol owns stdout; stray prints from libraries go to stderr instead.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    Agent(args.node, heartbeat_s=args.heartbeat_s, out=out, inp=sys.stdin).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
