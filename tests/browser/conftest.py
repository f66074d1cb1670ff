"""A real headless Chromium (the distribution's, driven by Playwright) against a real mock on a
loopback port. Chromium is found at $APIKLEY_TESTS_CHROMIUM, else `chromium` on the PATH; with
none the browser tests skip, unless APIKLEY_TESTS_REQUIRE_BROWSER=1 (CI) makes that a failure."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, expect, sync_playwright

from tests.conftest import API_KEY, RunningMock, valid_body

REQUIRED = os.environ.get("APIKLEY_TESTS_REQUIRE_BROWSER") == "1"
# The network is unplugged for the browser: every name but the loopback address fails to resolve,
# so a page that reaches for a CDN breaks here instead of passing on a connected machine.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]

expect.set_options(timeout=15_000)  # the page polls every second; a loaded CI machine is slow


def chromium_path() -> str | None:
    return os.environ.get("APIKLEY_TESTS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")  # Playwright holds an event loop: gone before other tests
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")  # Playwright holds an event loop: gone before other tests
def browser(playwright: Playwright) -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        message = "no Chromium (apt-get install chromium, or set APIKLEY_TESTS_CHROMIUM)"
        if REQUIRED:
            pytest.fail(f"browser tests are required here: {message}")
        pytest.skip(message)
    browser = playwright.chromium.launch(executable_path=path, args=ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


def refused_control_call(message: ConsoleMessage) -> bool:
    """Chromium logs every 4xx answer; the control API's refusals are shown on the page."""
    return (re.fullmatch(r"Failed to load resource: the server responded with a status of 4\d\d .*", message.text)
            is not None and "/__mock__/" in message.location.get("url", ""))


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and not refused_control_call(message) else None)
    yield page
    assert errors == [], errors  # no script error, no resource refused, no policy violation


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where screenshots go: `make screenshots` sets APIKLEY_TESTS_SCREENSHOTS=docs."""
    folder = Path(os.environ.get("APIKLEY_TESTS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def create_task(mock: RunningMock, callback: str | None = None, **input_fields: str) -> str:
    body = valid_body(**input_fields)
    if callback:
        body["callBackUrl"] = callback
    payload = mock.client.post("/api/v1/jobs/createTask", json=body).json()
    assert payload["code"] == 200, payload
    return str(payload["data"]["taskId"])


def dashboard(mock: RunningMock, task_id: str | None = None) -> str:
    return f"{mock.base_url}/__mock__/" + (f"#/tasks/{task_id}" if task_id else "")


__all__ = ["API_KEY", "create_task", "dashboard"]
