"""pytest plugin (entry point `pytest11`): the `apikley_mock` fixture.

One mock per session on a free loopback port, so any HTTP client can reach it, with its
virtual clock frozen (tests move it with `advance()`), reset before every test.
Override `apikley_mock_settings` in a conftest.py to change its settings.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mock_server.app import create_app
from mock_server.server import ThreadedServer
from mock_server.settings import Settings
from mock_server.testing import MockControl

FIXTURE_KEY = "apikley-mock-test-key"


@pytest.fixture(scope="session")
def apikley_mock_settings() -> Settings:
    """Settings of the session's mock: a frozen clock and one key; limits as upstream."""
    return Settings(api_keys=(FIXTURE_KEY,), speed=0)


@pytest.fixture(scope="session")
def apikley_mock_server(apikley_mock_settings: Settings) -> Iterator[ThreadedServer]:
    with ThreadedServer(create_app(apikley_mock_settings)) as server:
        yield server


@pytest.fixture
def apikley_mock(apikley_mock_server: ThreadedServer,
                 apikley_mock_settings: Settings) -> Iterator[MockControl]:
    """A running mock: `base_url`, `api_key`, `client`, `advance()`, `queue()`, `tasks()`,
    `requests()`, `callbacks()`, `wait_for_callback()`; fresh for every test."""
    control = MockControl(apikley_mock_server.base_url, apikley_mock_settings.api_keys[0],
                          admin_token=apikley_mock_settings.admin_token)
    control.reset()
    try:
        yield control
    finally:
        control.close()
