"""The console's front door: ``__all__`` is honest, documented, and every mutating route is guarded."""

from __future__ import annotations

import inspect

import pytest
from console_helpers import TestClient, refusals
from fastapi.routing import APIRoute

import finpilot.console
from finpilot.audit import Ledger
from finpilot.console._app import ROUTERS
from finpilot.console._auth import MUTATING


def test_all_names_exist_and_are_documented() -> None:
    for name in finpilot.console.__all__:
        value = getattr(finpilot.console, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name} has no docstring"


def test_public_names_are_the_public_surface() -> None:
    exported = {name for name in dir(finpilot.console) if not name.startswith("_")}
    # Submodules show up as attributes once imported; they are private by their leading underscore.
    assert exported - set(finpilot.console.__all__) <= {"annotations"}


def test_every_mutating_route_refuses_strangers(client: TestClient, ledger: Ledger) -> None:
    mutating = [
        (method, route.path)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
        if method in MUTATING
    ]
    assert len(mutating) >= 8
    for method, template in mutating:
        path = template.replace("{index}", "0").replace("{token_id}", "0badf00d")
        response = client.request(method, path, headers={"Origin": "http://testserver"})
        assert response.status_code == 401, (method, template, response.text)
    [summary] = refusals(client.app, ledger)
    assert summary["evidence"]["refused_401"] == len(mutating), "each refusal is counted"
    assert sum(summary["evidence"]["routes"].values()) == len(mutating)


@pytest.mark.parametrize("name", ["create_app", "serve", "open_token_store"])
def test_functions_have_typed_signatures(name: str) -> None:
    signature = inspect.signature(getattr(finpilot.console, name))
    assert signature.return_annotation is not inspect.Signature.empty
