"""pytest plugin (entry point `pytest11`): the `apikley_mock` fixtures.

- `apikley_mock`: one mock per session on a free loopback port (any HTTP client can reach it),
  its virtual clock frozen (tests move it with `advance()`), reset before every test;
- `apikley_mock_async`: the same mock, its calls awaited (`await apikley_mock_async.advance(60)`);
- `apikley_mock_inprocess`: an async mock in the test's own process and event loop, reached
  through `httpx.ASGITransport` (`.transport`), no socket: the fastest, for code that takes an
  httpx transport. Callbacks it sends still need a receiver on a socket;
- `apikley_mock_intercept`: with `apikley_mock`, the test's environment routes the family's
  https hosts (`api.kie.ai` ...) to it through a forward proxy, its CA trusted: for code that
  hard-codes them.

The async fixtures are plain fixtures returning awaitable clients, so they work under
pytest-asyncio and anyio's plugin alike. Override `apikley_mock_settings` in a conftest.py to
change the mock's settings. Nothing heavy is imported until a fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mock_server.settings import Settings
    from mock_server.testing import AsyncMockControl, MockControl

FIXTURE_KEY = "apikley-mock-test-key"


@pytest.fixture(scope="session")
def apikley_mock_settings() -> Settings:
    """Settings of the session's mock: a frozen clock and one key; limits as upstream."""
    from mock_server.settings import Settings

    return Settings(api_keys=(FIXTURE_KEY,), speed=0)


@pytest.fixture(scope="session")
def apikley_mock_server(apikley_mock_settings: Settings) -> Iterator[Any]:
    from mock_server.app import create_app
    from mock_server.server import ThreadedServer

    with ThreadedServer(create_app(apikley_mock_settings)) as server:
        yield server


@pytest.fixture(scope="session")
def _apikley_mock_pool() -> Iterator[Any]:
    from mock_server.testing.control import shared_ssl_context
    from mock_server.testing.loop import KeptTransport

    pool = KeptTransport(trust_env=False, verify=shared_ssl_context())
    yield pool
    pool.close_for_good()


@pytest.fixture
def apikley_mock(apikley_mock_server: Any, apikley_mock_settings: Settings, _apikley_mock_pool: Any
                 ) -> Iterator[MockControl]:
    """A running mock: `base_url`, `api_key`, `client`, `advance()`, `queue()`, `seed_task()`,
    `tasks()`, `requests()`, `callbacks()`, `wait_for_callback()`; reset before every test.
    `client` (a fresh one each test, on the session's connection pool) goes over the socket; the
    control calls skip it (the same app, handed each request on the server's own loop), which
    keeps a test's overhead small."""
    from mock_server.testing import MockControl
    from mock_server.testing.loop import LoopTransport

    control = MockControl(apikley_mock_server.base_url, apikley_mock_settings.api_keys[0],
                          admin_token=apikley_mock_settings.admin_token, trust_env=False, transport=_apikley_mock_pool,
                          control_transport=LoopTransport(apikley_mock_server.app, apikley_mock_server.loop))
    control.reset()
    try:
        yield control
    finally:
        control.close()


@pytest.fixture
def apikley_mock_async(apikley_mock: MockControl, apikley_mock_server: Any,
                       apikley_mock_settings: Settings) -> AsyncMockControl:
    """The session's mock, its calls awaited; reset before every test (by `apikley_mock`)."""
    from mock_server.testing import AsyncMockControl
    from mock_server.testing.loop import AsyncLoopTransport

    return AsyncMockControl(apikley_mock_server.base_url, apikley_mock_settings.api_keys[0],
                            admin_token=apikley_mock_settings.admin_token, trust_env=False,
                            control_transport=AsyncLoopTransport(apikley_mock_server.app, apikley_mock_server.loop))


@pytest.fixture(scope="session")
def _apikley_mock_forward(apikley_mock_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mock_server.intercept import ForwardProxy
    from mock_server.tls import local_ca
    from mock_server.urls import FAMILY_HOSTS

    ca = local_ca(tmp_path_factory.mktemp("apikley-mock-ca"))  # the session's own CA, nothing global
    forward = ForwardProxy(target=(apikley_mock_server.host, apikley_mock_server.port), hosts=FAMILY_HOSTS,
                           server_tls=ca.server_context())
    port = forward.start("127.0.0.1", 0)
    proxy = f"http://127.0.0.1:{port}"
    yield {**{name: proxy for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")},
           "NO_PROXY": "localhost,127.0.0.1,::1", "no_proxy": "localhost,127.0.0.1,::1", **ca.env()}
    forward.stop()


@pytest.fixture
def apikley_mock_intercept(apikley_mock: MockControl, _apikley_mock_forward: dict[str, str],
                           monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """For code that hard-codes the family's https hosts: for this test, the environment (and
    so its subprocesses) routes them to `apikley_mock` through a forward proxy and trusts its
    CA; returns that environment. Other hosts are refused, never reached."""
    for name, value in _apikley_mock_forward.items():
        monkeypatch.setenv(name, value)
    return dict(_apikley_mock_forward)


@pytest.fixture(scope="session")
def apikley_mock_app(apikley_mock_settings: Settings) -> Any:
    """The mock's ASGI app, in this process (no socket), for `apikley_mock_inprocess`."""
    from mock_server.app import create_app

    return create_app(apikley_mock_settings)


@pytest.fixture
def apikley_mock_inprocess(apikley_mock_app: Any, apikley_mock_settings: Settings) -> AsyncMockControl:
    """An in-process mock: awaitable like `apikley_mock_async`; pass `.transport` to your own
    `httpx.AsyncClient`. Reset before every test."""
    import httpx

    from mock_server.testing import AsyncMockControl

    apikley_mock_app.state.services.reset()
    transport = httpx.ASGITransport(app=apikley_mock_app)
    return AsyncMockControl("http://localhost", apikley_mock_settings.api_keys[0], trust_env=False,
                            admin_token=apikley_mock_settings.admin_token, transport=transport,
                            control_transport=transport)
