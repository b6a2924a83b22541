"""The example Flagger Canary and Argo AnalysisTemplate: they say what the console expects.

Canary (flagger.app/v1beta1) and AnalysisTemplate (argoproj.io/v1alpha1) are CRDs, absent from the
core schemas kubernetes-validate ships, and their CRDs are not on this machine: they get a
structural check against the subset of their schemas written out below (the fields the examples
use), NOT validation against the official CRDs. The Secret is a core kind and is validated against
the official schema. None of this was run against a live cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import kubernetes_validate
import yaml

from finpilot.console import create_app
from finpilot.core import Settings

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "k8s"
_STR = {"type": "string", "minLength": 1}
_META = {"type": "object", "required": ["name", "namespace"], "properties": {"name": _STR, "namespace": _STR}}
_DURATION = {"type": "string", "pattern": r"^[0-9]+(ms|s|m|h)$"}

CANARY_SUBSET: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "flagger.app/v1beta1"},
        "kind": {"const": "Canary"},
        "metadata": _META,
        "spec": {
            "type": "object",
            "required": ["targetRef", "service", "analysis"],
            "properties": {
                "targetRef": {
                    "type": "object",
                    "required": ["apiVersion", "kind", "name"],
                    "properties": {"kind": {"enum": ["Deployment", "DaemonSet", "Service"]}},
                },
                "service": {"type": "object", "required": ["port"], "properties": {"port": {"type": "integer"}}},
                "analysis": {
                    "type": "object",
                    "required": ["interval", "webhooks"],
                    "properties": {
                        "interval": _DURATION,
                        "threshold": {"type": "integer", "minimum": 1},
                        "maxWeight": {"type": "integer", "minimum": 0, "maximum": 100},
                        "stepWeight": {"type": "integer", "minimum": 0, "maximum": 100},
                        "webhooks": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name", "url"],
                                "additionalProperties": False,
                                "properties": {
                                    "name": _STR,
                                    "type": {
                                        "enum": [
                                            "confirm-rollout",
                                            "pre-rollout",
                                            "rollout",
                                            "confirm-traffic-increase",
                                            "confirm-promotion",
                                            "post-rollout",
                                            "rollback",
                                            "event",
                                        ]
                                    },
                                    "url": {"type": "string", "format": "uri"},
                                    "timeout": _DURATION,
                                    "muteAlert": {"type": "boolean"},
                                    "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}

ANALYSIS_TEMPLATE_SUBSET: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "argoproj.io/v1alpha1"},
        "kind": {"const": "AnalysisTemplate"},
        "metadata": _META,
        "spec": {
            "type": "object",
            "required": ["metrics"],
            "properties": {
                "args": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "additionalProperties": False,
                        "properties": {
                            "name": _STR,
                            "value": {"type": "string"},
                            "valueFrom": {
                                "type": "object",
                                "properties": {
                                    "secretKeyRef": {
                                        "type": "object",
                                        "required": ["name", "key"],
                                        "properties": {"name": _STR, "key": _STR},
                                    }
                                },
                            },
                        },
                    },
                },
                "metrics": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["name", "provider"],
                        "properties": {
                            "name": _STR,
                            "interval": _DURATION,
                            "count": {"type": "integer", "minimum": 1},
                            "successCondition": {"type": "string"},
                            "failureCondition": {"type": "string"},
                            "failureLimit": {"type": "integer", "minimum": 0},
                            "inconclusiveLimit": {"type": "integer", "minimum": 0},
                            "provider": {
                                "type": "object",
                                "required": ["web"],
                                "properties": {
                                    "web": {
                                        "type": "object",
                                        "required": ["url", "jsonPath"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "url": {"type": "string"},
                                            "method": {"enum": ["GET", "POST", "PUT"]},
                                            "timeoutSeconds": {"type": "integer", "minimum": 1},
                                            "jsonPath": {"type": "string"},
                                            "insecure": {"type": "boolean"},
                                            "headers": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "required": ["key", "value"],
                                                    "additionalProperties": False,
                                                    "properties": {"key": _STR, "value": {"type": "string"}},
                                                },
                                            },
                                        },
                                    }
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _paths(tmp_path: Path) -> set[str]:
    from finpilot.audit import open_ledger
    from finpilot.console import open_token_store

    settings = Settings(data_dir=tmp_path / "data")
    with open_ledger(settings) as ledger, open_token_store(settings) as tokens:
        return set(create_app(settings, ledger, tokens).openapi()["paths"])


def test_the_flagger_canary_calls_both_hooks_of_the_console(tmp_path: Path) -> None:
    [canary] = _docs(EXAMPLES / "flagger" / "canary.yaml")
    jsonschema.validate(canary, CANARY_SUBSET, format_checker=jsonschema.FormatChecker())
    hooks = {h["type"]: h for h in canary["spec"]["analysis"]["webhooks"]}
    assert set(hooks) == {"confirm-promotion", "rollback"}
    served = _paths(tmp_path)
    for kind, hook in hooks.items():
        path = urlsplit(hook["url"]).path
        assert path == f"/api/v1/analysis/flagger/{kind}"
        assert "/api/v1/analysis/flagger/{hook}" in served
        assert {"token", "release", "window_s"} <= set(hook["metadata"])


def test_the_argo_template_reads_the_verdict_with_a_secret_token(tmp_path: Path) -> None:
    secret, template = _docs(EXAMPLES / "argo" / "analysis-template.yaml")
    for version in ("1.30.0", kubernetes_validate.latest_version()):
        kubernetes_validate.validate(secret, version, strict=True)
    jsonschema.validate(template, ANALYSIS_TEMPLATE_SUBSET)
    [metric] = template["spec"]["metrics"]
    web = metric["provider"]["web"]
    assert web["jsonPath"] == "{$.verdict}"
    assert metric["successCondition"] == 'result == "pass"'
    assert metric["failureCondition"] == 'result == "fail"'
    url = urlsplit(web["url"])
    assert url.path in _paths(tmp_path)
    assert set(parse_qs(url.query)) == {"rollout", "release", "window_s"}
    ref = next(a for a in template["spec"]["args"] if a["name"] == "authorization")["valueFrom"]["secretKeyRef"]
    assert (ref["name"], ref["key"]) == (secret["metadata"]["name"], "authorization")
    assert web["headers"] == [{"key": "Authorization", "value": "{{args.authorization}}"}]
