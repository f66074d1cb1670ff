"""apikley-mock: a spec-driven mock of Apikley's Bytedance V1 Pro Fast image-to-video API."""

from mock_server.app import create_app
from mock_server.server import ThreadedServer
from mock_server.settings import Settings, load_settings
from mock_server.sim.clock import VirtualClock

__all__ = ["Settings", "ThreadedServer", "VirtualClock", "create_app", "load_settings"]
