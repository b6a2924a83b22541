"""A node agent forks a service's replicas from one zygote per launch environment, not per service name."""

from __future__ import annotations

from finpilot.core import ServiceSpec
from finpilot.heal._runtime._agent import _zygote_key


def _spec(**env: str) -> ServiceSpec:
    return ServiceSpec.model_validate({"module": "finpilot_payments", "env": env})


def test_a_release_arm_with_another_env_gets_another_zygote() -> None:
    # A canary declared again for the next release must not fork from the last release's zygote.
    good = _zygote_key("payments-canary", _spec(PAYMENTS_VERSION="good"))
    bad = _zygote_key("payments-canary", _spec(PAYMENTS_VERSION="bad", PAYMENTS_FAULT_ERROR_RATE="0.08"))
    assert good != bad
    assert good.startswith("payments-canary#")


def test_the_same_spec_shares_its_zygote() -> None:
    assert _zygote_key("payments", _spec(A="1", B="2")) == _zygote_key("payments", _spec(B="2", A="1"))
    assert _zygote_key("payments", _spec(A="1")) != _zygote_key("payments-baseline", _spec(A="1"))
