"""`/docs` in a real browser with the network unplugged: every operation listed, nothing
fetched from anywhere but the mock, and "Try it out" reaches the mock."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Locator, Page, Route, expect

from contracts.apis import bundled_apis
from contracts.spec.document import operations
from mock_server.net import is_loopback
from tests.conftest import API_KEY, RunningMock, control_for


def test_docs_list_every_operation_and_fetch_nothing_but_the_mock(mock: RunningMock, page: Page) -> None:
    requested: list[str] = []

    def watch(route: Route) -> None:
        requested.append(route.request.url)
        host = urlsplit(route.request.url).hostname or ""
        route.continue_() if is_loopback(host) else route.abort()

    page.route("**/*", watch)
    page.goto(f"{mock.base_url}/docs")
    blocks = page.locator(".opblock")
    expected = {(op.method.upper(), op.path) for op in operations()}
    expect(blocks).to_have_count(len(expected))
    shown = {(blocks.nth(i).locator(".opblock-summary-method").inner_text(),
              blocks.nth(i).locator(".opblock-summary-path").get_attribute("data-path"))
             for i in range(len(expected))}
    assert shown == expected
    for op in operations():
        expect(page.locator(".opblock", has_text=op.operation_id)).to_have_count(1)
    expect(page.locator(".servers select")).to_contain_text(mock.base_url)  # "try it" goes to the mock
    foreign = [url for url in requested if not is_loopback(urlsplit(url).hostname or "")]
    assert foreign == [] and len(requested) >= 4  # the page, its assets, the spec


def authorize(page: Page) -> None:
    page.click("button.authorize")
    page.locator(".modal-ux input").first.fill(API_KEY)
    page.click(".modal-ux button.authorize")
    page.click(".modal-ux button.btn-done")


def try_it_out(page: Page, operation_id: str) -> Locator:
    """The operation's "Try it out" with its example, executed; its block."""
    block = page.locator(".opblock", has_text=operation_id)
    block.locator(".opblock-summary").first.click()
    block.locator("button.try-out__btn").click()
    block.locator("button.execute").click()
    return block


def test_try_it_out_calls_the_mock(mock: RunningMock, page: Page) -> None:
    page.goto(f"{mock.base_url}/docs")
    authorize(page)
    credit = try_it_out(page, "get-account-credits")
    expect(credit.locator(".live-responses-table")).to_contain_text('"code": 200')
    balance = mock.client.get("/api/v1/chat/credit").json()["data"]
    expect(credit.locator(".live-responses-table")).to_contain_text(f'"data": {balance:g}')
    calls = [(entry["path"], entry["code"]) for entry in control_for(mock).requests()]
    assert calls[0] == ("/api/v1/chat/credit", 200)  # the browser's call, made with the key


def test_docs_pick_any_loaded_model(mock: RunningMock, page: Page) -> None:
    """With the whole catalogue loaded, /docs stays usable: one definition per model, picked
    from the top bar's list; each shows that model's own createTask body."""
    models = mock.client.get("/openapi/models.json").json()
    page.goto(f"{mock.base_url}/docs")
    picker = page.locator(".topbar select")
    apis = mock.client.get("/openapi/apis.json").json()
    expect(picker.locator("option")).to_have_count(len(models) + 1 + len(apis))  # "every model", each API
    expect(page.locator(".opblock")).to_have_count(len(list(operations())))
    picker.select_option(label="nano-banana-pro (image)")
    create = page.locator(".opblock", has_text="/api/v1/jobs/createTask")
    expect(create).to_contain_text("Create a task for nano-banana-pro (image)")
    create.locator(".opblock-summary").first.click()
    expect(create.locator(".body-param__example, .microlight").first).to_contain_text('"nano-banana-pro"')
    assert mock.client.get("/openapi.json", params={"model": "nope"}).status_code == 404


def test_docs_pick_another_api_and_try_it_against_the_mock(mock: RunningMock, page: Page) -> None:
    page.goto(f"{mock.base_url}/docs")
    page.locator(".topbar select").select_option(label="Veo 3.1 API")
    expect(page.locator(".opblock")).to_have_count(len(bundled_apis()["veo"].operations))
    authorize(page)
    generate = try_it_out(page, "veo-generate")
    expect(generate.locator(".live-responses-table")).to_contain_text("veo_task_")
    assert [view["api"] for view in control_for(mock).tasks()] == ["veo"]  # made by the browser's call
