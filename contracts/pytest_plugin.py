"""pytest plugin (entry point `pytest11`): run the contract suite from your own tests.

    def test_server_keeps_the_contract(apikley_contract):
        report = apikley_contract()
        assert report.ok, report.summary()

Against `--apikley-base-url`/`--apikley-api-key` when given, else against the `apikley_mock`
plugin's session server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported when the fixture is used: a session that does not use it pays nothing
    from contracts.checks.report import Report


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("apikley-contract")
    group.addoption("--apikley-base-url", help="the server to check (default: the apikley_mock server)")
    group.addoption("--apikley-api-key", help="its API key")
    group.addoption("--apikley-profile", choices=("mock", "real"), default=None,
                    help="mock (default) or real: at most --apikley-max-billable paid calls")
    group.addoption("--apikley-max-billable", type=int, default=None)
    group.addoption("--apikley-hmac-key", help="verify callback signatures with this key")


@pytest.fixture
def apikley_contract(request: pytest.FixtureRequest) -> Callable[..., Report]:
    """A function running the contract suite; keyword arguments override `RunOptions`."""
    config = request.config
    base_url = config.getoption("apikley_base_url")
    options: dict[str, Any] = {"profile": config.getoption("apikley_profile") or "mock",
                               "max_billable": config.getoption("apikley_max_billable"),
                               "hmac_key": config.getoption("apikley_hmac_key")}
    if base_url:
        options |= {"base_url": base_url, "api_key": config.getoption("apikley_api_key") or ""}
    else:  # the apikley_mock plugin's server (no import: contracts never imports mock_server)
        server = request.getfixturevalue("apikley_mock_server")
        settings = request.getfixturevalue("apikley_mock_settings")
        options |= {"base_url": server.base_url, "api_key": settings.api_keys[0]}
        options["hmac_key"] = options["hmac_key"] or settings.webhook_hmac_key

    def run(**overrides: Any) -> Report:
        from contracts.engine import RunOptions, run_contract

        return run_contract(RunOptions(**(options | overrides)))

    return run
