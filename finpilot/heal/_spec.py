"""The service spec the healer works from.

The models are defined in :mod:`finpilot.core` (core owns every config model and must not
import heal) and re-exported here, so heal code and its users have one place to import them.
"""

from __future__ import annotations

from finpilot.core import (
    Classification,
    DisruptionSpec,
    NodeSpec,
    PoolSpec,
    ProbeSpec,
    ProbesSpec,
    ResourcesSpec,
    RestartSpec,
    RouterSpec,
    RuntimeSettings,
    SecretRef,
    ServiceSpec,
)

__all__ = [
    "Classification",
    "DisruptionSpec",
    "NodeSpec",
    "PoolSpec",
    "ProbeSpec",
    "ProbesSpec",
    "ResourcesSpec",
    "RestartSpec",
    "RouterSpec",
    "RuntimeSettings",
    "SecretRef",
    "ServiceSpec",
]
