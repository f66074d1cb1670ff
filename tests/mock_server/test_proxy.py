"""`apikley-mock proxy` with the mock itself as the upstream (no network): a session through it
is forwarded unchanged, checked clean and recorded; an upstream that breaks one rule yields
that finding while the application still gets the upstream's answer; upstream faults come
back as the same kind of failure; the API key is never written anywhere."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from contracts.cli import main as contract_main
from contracts.traffic.exchanges import load_exchanges
from mock_server import Settings, ThreadedServer, create_app
from mock_server.proxy.app import FINDINGS_PATH, ProxySettings, create_proxy_app
from mock_server.testing import MockControl, MockProcess
from tests.conftest import Receiver, RunningMock, free_port, start_mock, valid_body
from tests.contracts.test_engine import breaking

CREATE = "/api/v1/jobs/createTask"
DETAILS = "/api/v1/jobs/recordInfo"
SECRET_KEY = "sk-live-7f3c9a1b2d4e6f80"  # a key that looks real, to hunt for in every output


@dataclass
class Proxy:
    server: ThreadedServer
    client: httpx.Client

    def findings(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.server.base_url}{FINDINGS_PATH}").json()["data"])

    def checks(self) -> list[str]:
        return [failure["check"] for failure in self.findings()["failures"]]


@pytest.fixture
def upstream() -> Iterator[RunningMock]:
    yield from start_mock(api_keys=(SECRET_KEY,), webhook_hmac_key="right-key")


@pytest.fixture
def proxy_for(tmp_path: Path) -> Iterator[Callable[..., Proxy]]:
    servers: list[ThreadedServer] = []

    def start(upstream_url: str, port: int = 0, **settings: Any) -> Proxy:
        app = create_proxy_app(ProxySettings(upstream=upstream_url, **settings))
        server = ThreadedServer(app, port=port).start()
        servers.append(server)
        client = httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=30)
        return Proxy(server, client)

    yield start
    for server in servers:
        server.stop()


def session(proxy: Proxy, upstream: RunningMock, callback: str | None = None) -> str:
    """What an application does: create, poll as the task moves on, check its credit."""
    body = valid_body()
    if callback:
        body["callBackUrl"] = callback
    created = proxy.client.post(CREATE, json=body).json()
    assert created["code"] == 200, created
    task_id = str(created["data"]["taskId"])
    for seconds in (0, 3, 10, 30, 60):
        upstream.clock.advance(seconds)
        assert proxy.client.get(DETAILS, params={"taskId": task_id}).json()["code"] == 200
    proxy.client.get("/api/v1/chat/credit")
    proxy.client.get(DETAILS, params={"taskId": "task_bytedance_1"})  # an unknown task: 422, as documented
    return task_id


def wait_checked(proxy: Proxy) -> dict[str, Any]:
    """Checks run off the request path; `?wait=1` answers once those queued are done."""
    previous = None
    for _ in range(50):
        found = dict(httpx.get(f"{proxy.server.base_url}{FINDINGS_PATH}", params={"wait": "1"}).json()["data"])
        if found["pending"] == 0 and found == previous:
            return found
        previous = found
    raise AssertionError("checks never settled")


def test_a_session_through_the_proxy_is_forwarded_checked_clean_and_recorded(
        upstream: RunningMock, proxy_for: Callable[..., Proxy], tmp_path: Path) -> None:
    proxy = proxy_for(upstream.base_url, record=tmp_path / "cassettes")
    task_id = session(proxy, upstream)
    direct = httpx.get(f"{upstream.base_url}{DETAILS}", params={"taskId": task_id},
                       headers={"Authorization": f"Bearer {SECRET_KEY}"}).json()
    assert proxy.client.get(DETAILS, params={"taskId": task_id}).json() == direct  # unchanged
    found = wait_checked(proxy)
    assert found["failures"] == []
    assert found["passed"]["conforms_to_spec"] >= 8 and found["passed"]["transitions"] >= 4
    assert found["passed"]["record_fields"] >= 5 and found["unchecked"] == 0
    files = sorted((tmp_path / "cassettes").glob("*.json"))
    assert [f.name.split("-", 1)[1] for f in files[:2]] == ["createTask.json", "recordInfo.json"]
    assert contract_main(["validate", str(tmp_path / "cassettes")]) == 0


@dataclass
class Broken:
    """An upstream that forwards to a real mock and breaks one rule in what it answers."""

    mock: RunningMock
    rule: str
    polls: int = 0

    def app(self) -> Starlette:
        async def answer(request: Request) -> Response:
            headers = {name: value for name, value in request.headers.items()
                       if name in ("authorization", "content-type")}
            async with httpx.AsyncClient(base_url=self.mock.base_url) as client:
                real = await client.request(request.method, request.url.path, params=request.query_params,
                                            content=await request.body(), headers=headers)
            payload = real.json()
            if request.url.path == DETAILS and payload.get("code") == 200:
                self.polls += 1
                record = payload["data"]
                if self.rule == "resultJson-object" and record["resultJson"]:
                    record["resultJson"] = json.loads(record["resultJson"])
                if self.rule == "state-backwards" and self.polls == 3:
                    record["state"], record["completeTime"], record["resultJson"] = "waiting", None, None
            if self.rule == "html-page":
                return HTMLResponse("<html><body><h1>502 Bad Gateway</h1>cloudflare</body></html>", status_code=502)
            return JSONResponse(payload, status_code=real.status_code)

        return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])


@pytest.mark.parametrize(("rule", "finding"), [
    ("resultJson-object", "record_fields"),
    ("state-backwards", "transitions"),
    ("html-page", "upstream_html"),
])
def test_an_upstream_breaking_one_rule_yields_that_finding_and_the_app_gets_its_answer(
        upstream: RunningMock, proxy_for: Callable[..., Proxy], rule: str, finding: str,
        capfd: pytest.CaptureFixture[str]) -> None:
    broken = Broken(upstream, rule)
    with ThreadedServer(broken.app()) as server:
        proxy = proxy_for(server.base_url)
        body = valid_body()
        created = proxy.client.post(CREATE, json=body)
        if rule == "html-page":
            assert created.status_code == 502 and "cloudflare" in created.text  # as the edge sent it
        else:
            task_id = created.json()["data"]["taskId"]
            for seconds in (5, 30, 60):
                upstream.clock.advance(seconds)
                seen = proxy.client.get(DETAILS, params={"taskId": task_id}).json()["data"]
            if rule == "resultJson-object":
                assert isinstance(seen["resultJson"], dict)  # the broken answer, passed on unchanged
        found = wait_checked(proxy)
    checks = [failure["check"] for failure in found["failures"]]
    assert finding in checks, found["failures"]
    printed = capfd.readouterr().err  # as they happen, on stderr
    assert set(re.findall(r"apikley-mock proxy: finding (\w+):", printed)) == set(checks)


@pytest.mark.parametrize(("proxy_key", "findings"), [("right-key", 0), ("wrong-key", 1)])
def test_relayed_callbacks_are_checked_and_forwarded(upstream: RunningMock, proxy_for: Callable[..., Proxy],
                                                     receiver: Receiver, proxy_key: str, findings: int) -> None:
    # The proxy's own address is the public URL here: the mock calls loopback hosts.
    port = free_port()
    proxy = proxy_for(upstream.base_url, callback_relay=f"http://127.0.0.1:{port}", hmac_key=proxy_key, port=port)
    task_id = session(proxy, upstream, callback=receiver.url)
    sent = json.loads(upstream.client.get("/__mock__/tasks/" + task_id).json()["data"]["record"]["param"])
    assert sent["callBackUrl"].startswith(f"http://127.0.0.1:{port}/__relay__/")  # what the upstream saw
    httpx.post(f"{upstream.base_url}/__mock__/callbacks/flush", params={"taskId": task_id}, timeout=30)
    assert len(receiver.received) == 1  # forwarded to the application's own URL, unchanged
    assert json.loads(receiver.received[0]["body"])["data"]["taskId"] == task_id
    assert receiver.received[0]["headers"]["x-webhook-signature"]
    found = wait_checked(proxy)
    callback = [failure for failure in found["failures"] if failure["check"] == "callback"]
    assert len(callback) == findings and found["passed"].get("callback", 0) == 1 - findings
    if findings:  # signed with the upstream's key, checked with another
        assert "X-Webhook-Signature" in callback[0]["expected"]


def test_upstream_faults_come_back_as_the_same_kind_of_failure(upstream: RunningMock,
                                                               proxy_for: Callable[..., Proxy]) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts connections, never answers
    try:
        timeout = proxy_for(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout_seconds=0.3)
        assert timeout.client.get("/api/v1/chat/credit").status_code == 504
    finally:
        silent.close()
    tls = proxy_for(upstream.base_url.replace("http://", "https://"))  # TLS spoken to a plain HTTP server
    refused = proxy_for(f"http://127.0.0.1:{free_port()}")
    assert tls.client.get("/api/v1/chat/credit").status_code == 502
    assert refused.client.get("/api/v1/chat/credit").status_code == 502
    assert timeout.checks() == ["upstream_timeout"]
    assert tls.checks() == ["upstream_tls"] and refused.checks() == ["upstream_unreachable"]


def test_the_api_key_appears_in_no_cassette_log_or_report(
        upstream: RunningMock, proxy_for: Callable[..., Proxy], tmp_path: Path,
        capfd: pytest.CaptureFixture[str]) -> None:
    report, junit = tmp_path / "report.json", tmp_path / "report.xml"
    broken = Broken(upstream, "state-backwards")
    with ThreadedServer(broken.app()) as server:
        proxy = proxy_for(server.base_url, record=tmp_path / "cassettes", report=report, junit=junit)
        session(proxy, upstream)
        findings = json.dumps(wait_checked(proxy))
        proxy.server.stop()  # the report files are written on exit
    assert "transitions" in findings and "$APIKLEY_API_KEY" in findings
    written = [path.read_text() for path in (tmp_path / "cassettes").glob("*.json")]
    assert len(written) >= 7 and all("$APIKLEY_API_KEY" in text for text in written)
    output = capfd.readouterr()
    for text in [findings, report.read_text(), junit.read_text(), output.out, output.err, *written]:
        assert SECRET_KEY not in text


def test_a_recording_replays_through_serve_replay(upstream: RunningMock, proxy_for: Callable[..., Proxy],
                                                 tmp_path: Path) -> None:
    folder = tmp_path / "cassettes"
    proxy = proxy_for(upstream.base_url, record=folder)
    task_id = session(proxy, upstream)
    seen = [exchange for exchange in load_exchanges(wait_recorded(proxy, folder))
            if exchange.url.endswith(f"taskId={task_id}")]
    records = [json.loads(exchange.response_body)["data"] for exchange in seen]
    assert records[0]["state"] == "waiting" and records[-1]["state"] == "success"
    upstream_result = httpx.get(json.loads(records[-1]["resultJson"])["resultUrls"][0], timeout=60).content

    settings = Settings(api_keys=("replay-key",), speed=0, replay=str(folder))
    with ThreadedServer(create_app(settings)) as replay:
        client = httpx.Client(base_url=replay.base_url, headers={"Authorization": "Bearer replay-key"}, timeout=60)
        control = MockControl(replay.base_url, "replay-key")
        first = min(exchange.recorded_at_ms or 0 for exchange in load_exchanges(folder))
        assert control.now_ms() == first  # the clock starts where the recording did
        replayed = []
        for exchange, following in zip(seen, [*seen[1:], None], strict=True):
            replayed.append(client.get(DETAILS, params={"taskId": task_id}).json()["data"])
            if following is not None and following.recorded_at_ms != exchange.recorded_at_ms:
                control.advance((following.recorded_at_ms - control.now_ms()) / 1000)  # type: ignore[operator]
        assert [r["state"] for r in replayed] == [r["state"] for r in records]  # the recorded sequence
        assert {k: v for k, v in replayed[-1].items() if k != "resultJson"} == \
               {k: v for k, v in records[-1].items() if k != "resultJson"}
        result_url = json.loads(replayed[-1]["resultJson"])["resultUrls"][0]
        assert result_url.startswith(f"{replay.base_url}/replay/{task_id}/")
        assert client.get(result_url).content == upstream_result  # the recorded file, served back
        fresh = client.post(CREATE, json=valid_body(prompt="not recorded")).json()["data"]["taskId"]
        assert fresh != task_id  # a body the recording does not have: the simulation as usual
        assert client.get(DETAILS, params={"taskId": fresh}).json()["data"]["state"] == "waiting"


def test_a_replayed_create_task_answers_the_recorded_task_and_its_records_in_order(
        upstream: RunningMock, proxy_for: Callable[..., Proxy], tmp_path: Path) -> None:
    """Regression: a replay answered a recorded createTask with a new task id, so an
    application's own create-then-poll flow never met the recording."""
    folder = tmp_path / "cassettes"
    proxy = proxy_for(upstream.base_url, record=folder)
    task_id = session(proxy, upstream)
    recorded = [json.loads(exchange.response_body)["data"] for exchange in load_exchanges(wait_recorded(proxy, folder))
                if exchange.url.endswith(f"taskId={task_id}")]
    settings = Settings(api_keys=("replay-key",), speed=0, replay=str(folder))
    with ThreadedServer(create_app(settings)) as replay, \
            httpx.Client(base_url=replay.base_url, headers={"Authorization": "Bearer replay-key"}) as client:
        body = {**valid_body(), "callBackUrl": "http://127.0.0.1:9/elsewhere"}  # callBackUrl is not matched on
        assert client.post(CREATE, json=body).json()["data"]["taskId"] == task_id
        polled = [client.get(DETAILS, params={"taskId": task_id}).json()["data"] for _ in range(len(recorded) + 2)]
    assert [record["state"] for record in polled] == [r["state"] for r in recorded] + [recorded[-1]["state"]] * 2


def test_a_strict_replay_refuses_what_the_recording_does_not_have(upstream: RunningMock,
                                                                 proxy_for: Callable[..., Proxy],
                                                                 tmp_path: Path) -> None:
    folder = tmp_path / "cassettes"
    proxy = proxy_for(upstream.base_url, record=folder)
    session(proxy, upstream)
    settings = Settings(api_keys=("replay-key",), speed=0, replay=str(wait_recorded(proxy, folder)), replay_strict=True)
    with ThreadedServer(create_app(settings)) as replay, \
            httpx.Client(base_url=replay.base_url, headers={"Authorization": "Bearer replay-key"}) as client:
        unmatched = client.post(CREATE, json=valid_body(prompt="not recorded")).json()
        assert unmatched["code"] == 500 and "the recording has no answer for createTask" in unmatched["msg"]
        unknown = client.get(DETAILS, params={"taskId": "task_bytedance_2"}).json()
        assert unknown["code"] == 500 and "recordInfo of task task_bytedance_2" in unknown["msg"]
        assert client.get("/api/v1/chat/credit").json()["code"] == 200  # recorded: answered as it was
        upload = client.post("/api/file-base64-upload", json={"base64Data": "aGk=", "uploadPath": "x"}).json()
        assert upload["code"] == 500 and "file-base64-upload" in upload["msg"]


def wait_recorded(proxy: Proxy, folder: Path) -> Path:
    wait_checked(proxy)  # recording happens with the checks, in the same worker
    return folder


def test_the_proxy_command_forwards_and_writes_its_report_on_exit(upstream: RunningMock, tmp_path: Path) -> None:
    report = tmp_path / "findings.json"
    with MockProcess("--upstream", upstream.base_url, "--port", "0", "--report", str(report),
                     "--record", str(tmp_path / "cassettes"), command="proxy") as proxy:
        answer = httpx.get(f"{proxy.base_url}/api/v1/chat/credit", headers={"Authorization": f"Bearer {SECRET_KEY}"})
        assert answer.json()["code"] == 200 and answer.json()["data"] > 0
    # stopped gracefully: every exchange checked, the report written
    written = json.loads(report.read_text())
    assert written["ok"] is True and written["passed"]["conforms_to_spec"] == 1 and written["uncheckedExchanges"] == 0
    assert SECRET_KEY not in proxy.output() + report.read_text()
    assert len(list((tmp_path / "cassettes").glob("*-credit.json"))) == 1


def test_the_proxy_command_refuses_a_bad_upstream() -> None:
    done = subprocess.run([sys.executable, "-m", "mock_server", "proxy", "--upstream", "api.apikley.ru"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--upstream must be an http(s) URL" in done.stderr


def test_validate_finds_a_lifecycle_break_in_a_recording(upstream: RunningMock, proxy_for: Callable[..., Proxy],
                                                         tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadedServer(Broken(upstream, "state-backwards").app()) as server:
        proxy = proxy_for(server.base_url, record=tmp_path / "cassettes")
        session(proxy, upstream)
        wait_checked(proxy)
    capsys.readouterr()
    assert contract_main(["validate", str(tmp_path / "cassettes")]) == 1  # offline, from the files alone
    assert "transitions" in capsys.readouterr().out


def test_another_apis_exchanges_are_held_to_its_own_spec(upstream: RunningMock,
                                                        proxy_for: Callable[..., Proxy]) -> None:
    proxy = proxy_for(upstream.base_url)
    veo = {"prompt": "A dog in a park", "model": "veo3_fast"}
    task_id = proxy.client.post("/api/v1/veo/generate", json=veo).json()["data"]["taskId"]
    upstream.clock.advance(600)
    assert proxy.client.get("/api/v1/veo/record-info", params={"taskId": task_id}).json()["data"]["successFlag"] == 1
    clean = wait_checked(proxy)
    assert clean["failures"] == [] and clean["passed"].get("conforms_to_spec", 0) >= 2

    def flag_as_text(scope: Any, status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if scope["path"] == "/api/v1/veo/record-info" and isinstance(body.get("data"), dict):
            body["data"]["successFlag"] = "1"  # a string: clients comparing with 1 break
        return status, body

    with ThreadedServer(breaking(upstream.server.app, flag_as_text)) as server:  # type: ignore[arg-type]
        broken = proxy_for(server.base_url)
        assert broken.client.get("/api/v1/veo/record-info", params={"taskId": task_id}).json()["data"]["successFlag"] \
            == "1"
        found = wait_checked(broken)
    assert "conforms_to_spec" in [failure["check"] for failure in found["failures"]]
