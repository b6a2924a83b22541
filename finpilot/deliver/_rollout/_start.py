"""Starting a rollout: checks (release id, one rollout per service, the signed-artifact hook), then the arms."""

from __future__ import annotations

import time
from typing import cast

from finpilot.core import FinpilotError, InputError
from finpilot.deliver._release import check_release
from finpilot.deliver._rollout._config import RolloutConfig
from finpilot.deliver._rollout._engine import ACTOR, AuditSink, Clock, RolloutEngine
from finpilot.deliver._rollout._platform import ArtifactVerifier, Platform
from finpilot.deliver._rollout._record import RolloutRecord
from finpilot.deliver._rollout._store import RolloutStore
from finpilot.heal import ArmSpec


def new_rollout(
    platform: Platform,
    store: RolloutStore,
    audit: AuditSink,
    *,
    service: str,
    release: str,
    env: dict[str, str],
    config: RolloutConfig,
    actor: str = ACTOR,
    clock: Clock = time.time,
    verify: ArtifactVerifier | None = None,
) -> RolloutRecord:
    """Start a rollout of ``release`` (env overrides ``env``) on ``service``: record it, launch its arms.

    A ``verify`` hook (the supply chain's artifact check) must pass first, before the platform is
    asked anything; with ``config.require_signature`` the hook is required, and without one the
    start is refused. Refused too while another rollout of the service runs, or when the release
    already has one that runs.
    """
    check_release(release)
    running = [r for r in store.all() if not r.terminal and (r.service == service or r.id == release)]
    if running:
        raise InputError(
            f"rollout {running[0].id!r} of {running[0].service} is still {running[0].phase}",
            field="release",
            fix=f"wait for it, or `finpilot rollout abort {running[0].id}`",
        )
    now = clock()
    env = {**env, "PAYMENTS_VERSION": env.get("PAYMENTS_VERSION", release)}
    record = RolloutRecord(
        id=release,
        service=service,
        release=release,
        env=env,
        stable_env={},  # filled in below, once the artifact is trusted
        stable_replicas=1,
        config=config,
        created_at=now,
        updated_at=now,
        phase_since=now,
    )
    engine = RolloutEngine(record, platform, store, audit, clock=clock)
    if config.require_signature or verify is not None:
        try:
            if verify is None:
                raise InputError(
                    "the rollout config requires a verified artifact, and no verifier is set",
                    field="require_signature",
                    fix="sign the release (`finpilot sign`) and start the rollout with the verifier, "
                    "or set require_signature: false",
                )
            verify(release, env)
        except FinpilotError as exc:
            engine.record_action("refuse", actor, f"artifact not verified: {exc.message}", outcome="failed")
            raise
    # A refused release touches nothing: the platform is asked for the stable version only now.
    stable_env, stable_replicas = platform.stable_spec(service)
    engine.record.stable_env = stable_env
    engine.record.stable_replicas = stable_replicas
    engine.record_action("start", actor, f"{config.strategy} rollout of {release} on {service}")
    canary_replicas = stable_replicas if config.strategy == "blue-green" else config.arm_replicas
    platform.set_arms(
        service,
        {
            "baseline": ArmSpec(env={}, replicas=config.arm_replicas),  # a fresh copy of the stable version
            "canary": ArmSpec(env=env, replicas=canary_replicas),
        },
    )
    platform.set_shares(service, {"stable": 100})
    store.save(engine.record)
    return engine.record


def adopt_rollout(
    store: RolloutStore, audit: AuditSink, *, service: str, release: str, actor: str = ACTOR, clock: Clock = time.time
) -> RolloutRecord | None:
    """The unfinished rollout of ``release`` on ``service`` whose loop is gone, taken over (audited), else None.

    For a ``rollout start`` run again after the process that ran the rollout died: the new loop
    continues where the record stands (and applies the requests queued meanwhile). The caller must
    know the old loop is gone: two loops on one rollout would both act.
    """
    record = store.find(release)
    if record is None or record.terminal:
        return None
    if record.service != service:
        raise InputError(
            f"rollout {release!r} is of service {record.service}, not {service}",
            field="release",
            fix=f"run `finpilot rollout start {record.service} --release {release}` to take it over",
        )
    engine = RolloutEngine(record, cast(Platform, _NoPlatform()), store, audit, clock=clock)
    engine.record_action("resume", actor, f"a new loop took the rollout over in phase {record.phase}")
    store.save(engine.record)
    return engine.record


class _NoPlatform:
    """Recording an action needs no platform; any call to one here is a bug."""

    def __getattr__(self, name: str) -> None:
        raise AttributeError(name)
