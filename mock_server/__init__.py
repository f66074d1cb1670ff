"""apikley-mock: a spec-driven mock of Apikley's asynchronous generation API.

Its public names are imported when first used: importing the package (as its pytest plugin
does in every session) costs next to nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.app import create_app
    from mock_server.server import ThreadedServer
    from mock_server.settings import Settings, load_settings
    from mock_server.sim.clock import VirtualClock

__all__ = ["Settings", "ThreadedServer", "VirtualClock", "create_app", "load_settings"]
_HOMES = {"create_app": "mock_server.app", "ThreadedServer": "mock_server.server", "Settings": "mock_server.settings",
          "load_settings": "mock_server.settings", "VirtualClock": "mock_server.sim.clock"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'mock_server' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
