"""The controller's local API (FastAPI under uvicorn, on 127.0.0.1) and its client.

``_app`` holds the routes, ``_models`` every request and response body, ``_server`` the
uvicorn thread and the token file, ``_client`` the :class:`RuntimeClient` the CLI and the
console use.
"""

from finpilot.heal._api._app import create_controller_app
from finpilot.heal._api._client import RuntimeClient
from finpilot.heal._api._server import ControllerApi

__all__ = ["ControllerApi", "RuntimeClient", "create_controller_app"]
