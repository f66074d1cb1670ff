"""The dashboard and /docs as HTTP resources (the browser tests drive them for real): who may
open them, what they are served with, and the control calls added for them."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from mock_server import Settings, create_app
from mock_server.sim import scenarios
from tests.conftest import API_KEY, RunningMock, control_for, valid_body


def from_afar(token: str | None, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """`path` asked for by a client at a documentation address (not loopback), in process."""
    app = create_app(Settings(api_keys=(API_KEY,), admin_token=token))
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))

    async def fetch() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            return await client.get(path, headers=headers or {})

    return asyncio.run(fetch())


@pytest.mark.parametrize(("token", "path", "headers", "status"), [
    (None, "/__mock__/", None, 403),
    ("s3cret", "/__mock__/", None, 403),
    ("s3cret", "/__mock__/?token=wrong", None, 403),
    ("s3cret", "/__mock__/?token=s3cret", None, 200),
    ("s3cret", "/__mock__/", {"X-Mock-Admin-Token": "s3cret"}, 200),
    (None, "/docs", None, 200),  # the spec is public, as /openapi.json is
])
def test_the_dashboard_follows_the_control_apis_access_rule(
        token: str | None, path: str, headers: dict[str, str] | None, status: int) -> None:
    response = from_afar(token, path, headers)
    assert response.status_code == status
    if status == 403:
        assert response.json()["code"] == 403 and "X-Mock-Admin-Token" in response.json()["msg"]


def test_the_query_token_opens_the_page_not_the_control_api() -> None:
    assert from_afar("s3cret", "/__mock__/tasks?token=s3cret").status_code == 403


def test_the_dashboard_is_served_with_a_strict_content_policy(mock: RunningMock) -> None:
    page = httpx.get(f"{mock.base_url}/__mock__/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy and "unsafe" not in policy
    assert page.headers["referrer-policy"] == "no-referrer"
    redirect = httpx.get(f"{mock.base_url}/__mock__?token=x")
    assert redirect.status_code == 307 and redirect.headers["location"] == "/__mock__/?token=x"
    for asset in ("/__mock__/assets/dashboard.js", "/docs/assets/swagger-ui-bundle.js"):
        assert httpx.get(f"{mock.base_url}{asset}").status_code == 200


def test_scenarios_lists_what_may_be_queued(mock: RunningMock) -> None:
    names = control_for(mock).call("GET", "/scenarios")
    assert names["task"] == sorted(scenarios.TASK_OUTCOMES)
    assert names["call"] == sorted(scenarios.CALL_OUTCOMES)
    assert {"createTask", "recordInfo", "credit"} <= set(names["operations"])


def test_tasks_limit_keeps_the_newest(mock: RunningMock) -> None:
    created = [mock.client.post("/api/v1/jobs/createTask", json=valid_body()).json()["data"]["taskId"]
               for _ in range(5)]
    newest = control_for(mock).call("GET", "/tasks", params={"limit": 2})
    assert [view["record"]["taskId"] for view in newest] == created[-2:]
    for bad in ("0", "-1", "ten", "10001"):
        answer = httpx.get(f"{mock.base_url}/__mock__/tasks", params={"limit": bad}).json()
        assert answer["code"] == 422 and answer["msg"] == "limit: must be an integer from 1 to 10000"


def test_cors_answers_browsers_on_the_api_and_files_only() -> None:
    """`--cors-origin`: a browser app may call the API and fetch results; never the control API."""
    from tests.conftest import API_KEY, start_mock, valid_body

    origin = "https://app.example"
    for mock in start_mock(cors_origins=(origin,)):
        preflight = httpx.options(f"{mock.base_url}/api/v1/jobs/createTask", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == origin
        created = httpx.post(f"{mock.base_url}/api/v1/jobs/createTask", json=valid_body(),
                             headers={"Origin": origin, "Authorization": f"Bearer {API_KEY}"})
        assert created.json()["code"] == 200 and created.headers["access-control-allow-origin"] == origin
        assert "access-control-allow-origin" not in httpx.get(f"{mock.base_url}/results/x/y.mp4",
                                                             headers={"Origin": "https://elsewhere.example"}).headers
        control = httpx.get(f"{mock.base_url}/__mock__/tasks", headers={"Origin": origin})
        assert control.status_code == 403 and "access-control-allow-origin" not in control.headers
        page = httpx.options(f"{mock.base_url}/__mock__/reset", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in page.headers
