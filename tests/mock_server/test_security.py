"""The security review's findings (issue #21), one regression test each, through the mock's
real interfaces: the mock never calls itself, its control API resists a browser, every value
from outside is bounded where it enters, memory and time are bounded per key."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from mock_server.errors import FETCH_FAILED
from mock_server.net import OUTGOING_HEADER
from tests.conftest import API_KEY, Receiver, RunningMock, control_for, start_mock, valid_body

CREATE = "/api/v1/jobs/createTask"


def create(mock: RunningMock, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    return dict(mock.client.post(CREATE, json=body, headers=headers).json())


def port_of(mock: RunningMock) -> int:
    return int(mock.base_url.rsplit(":", 1)[1])


# -- the mock never calls itself -----------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.2", "0.0.0.0"])
@pytest.mark.parametrize("path", ["/__mock__/reset", "/__mock__/tasks/task_bytedance_1765182752206/redeliver"])
def test_a_callback_at_the_mock_itself_is_refused_at_create_task(mock: RunningMock, host: str, path: str) -> None:
    answer = create(mock, {**valid_body(), "callBackUrl": f"http://{host}:{port_of(mock)}{path}"})
    assert answer["code"] == 422 and "is this mock itself" in answer["msg"]
    assert mock.task_count() == 0


def test_a_callback_at_another_loopback_port_is_still_delivered(mock: RunningMock, receiver: Receiver) -> None:
    task_id = create(mock, {**valid_body(), "callBackUrl": receiver.url})["data"]["taskId"]
    assert [entry["result"] for entry in control_for(mock).wait_for_callback(task_id)] == ["delivered"]


def test_the_public_url_counts_as_the_mock_itself() -> None:
    for mock in start_mock(public_url="https://apikley-mock.test"):
        answer = create(mock, {**valid_body(), "callBackUrl": "https://apikley-mock.test/__mock__/reset"})
        assert answer["code"] == 422 and "is this mock itself" in answer["msg"]


def test_a_delivery_to_the_mock_itself_is_journaled_as_refused(mock: RunningMock) -> None:
    from mock_server.delivery.callbacks import Delivery

    dispatcher = mock.server.app.state.services.dispatcher
    delivery = Delivery("t", API_KEY, f"http://localhost:{port_of(mock)}/__mock__/reset", "{}")
    mock.client.get("/api/v1/chat/credit")  # the mock has served a request on its port: it knows it
    assert "itself" in str(dispatcher._refusal(delivery.url))


def test_the_control_api_takes_no_call_that_is_the_mocks_own(mock: RunningMock) -> None:
    answer = httpx.post(f"{mock.base_url}/__mock__/reset", headers={OUTGOING_HEADER: "1"})
    assert answer.status_code == 403 and "own callbacks" in answer.json()["msg"]


def test_a_file_url_at_the_mock_itself_is_refused_unless_it_is_one_of_its_files(mock: RunningMock) -> None:
    answer = mock.client.post("/api/file-url-upload", json={
        "fileUrl": f"http://127.0.0.1:{port_of(mock)}/__mock__/reset", "uploadPath": "x"}).json()
    assert answer["success"] is False and "is this mock itself" in answer["msg"]


def test_file_url_errors_do_not_tell_which_local_ports_are_open(mock: RunningMock, receiver: Receiver) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    messages = {mock.client.post("/api/file-url-upload", json={"fileUrl": url, "uploadPath": "x"}).json()["msg"]
                for url in (f"http://127.0.0.1:{closed.getsockname()[1]}/a.png",  # nothing listens
                            f"{receiver.server.base_url}/a.png")}  # something listens: a 404
    closed.close()
    assert messages == {FETCH_FAILED.format(seconds=30)}


# -- values from outside, bounded where they enter ----------------------------------------

@pytest.mark.parametrize("scenario", ["callback-delay; seconds=1e300", "callback-delay; seconds=inf",
                                      "slow; factor=inf", "slow; factor=nan", "slow; factor=0",
                                      "rate-limited; retry_after=99999999999999999999"])
def test_a_scenario_parameter_out_of_its_range_is_a_422_naming_it(scenario: str, tmp_path: Path) -> None:
    """Regression: seconds=1e300 overflowed SQLite's integer when the task settled, and every
    later call of every key answered 500, after a restart too."""
    for mock in start_mock(db=str(tmp_path / "state.db")):
        by_header = create(mock, valid_body(), **{"X-Mock-Scenario": scenario})
        name = scenario.split(";")[1].split("=")[0].strip()
        assert by_header["code"] == 422 and by_header["msg"].startswith(f"{name}:"), by_header
        marker = scenario.replace(";", "").replace("; ", " ")
        by_marker = create(mock, valid_body(prompt=f"a cup [mock:{marker}]"))
        assert by_marker["code"] == 422 and by_marker["msg"].startswith(f"{name}:"), by_marker
        mock.clock.advance(3600)
        assert create(mock, valid_body())["code"] == 200
        assert mock.client.get("/api/v1/chat/credit").json()["code"] == 200


@pytest.mark.parametrize(("body", "message"), [
    ({"speed": 1e15}, "speed: must be a number from 0 to 1e+06"),
    ({"speed": "fast"}, "speed: must be a number"),
])
def test_the_clock_speed_is_bounded(mock: RunningMock, body: dict[str, Any], message: str) -> None:
    """Regression: a speed of 1e15 made every later request a 500, the one setting it back too."""
    answer = httpx.put(f"{mock.base_url}/__mock__/clock", json=body)
    assert answer.status_code == 422 and answer.json()["msg"].startswith(message)
    assert httpx.get(f"{mock.base_url}/__mock__/clock").json()["data"]["speed"] == 0


def test_the_clock_never_passes_the_year_9999(mock: RunningMock) -> None:
    answers = []
    for _ in range(300):  # 31 years a step: about 252 steps to the year 9999
        answers.append(httpx.post(f"{mock.base_url}/__mock__/clock/advance", json={"seconds": 1e9}).json())
        if answers[-1]["code"] != 200:
            break
    assert answers[-1]["code"] == 422 and "year 9999" in answers[-1]["msg"] and len(answers) > 200
    assert create(mock, valid_body())["code"] == 200


def test_a_result_url_with_a_strange_expires_is_a_404_not_a_500(mock: RunningMock) -> None:
    for expires in ("²", "9" * 5000, "-1", "1e3"):
        answer = httpx.get(f"{mock.base_url}/results/{'a' * 24}/task_bytedance_1.mp4",
                           params={"expires": expires, "token": "x"})
        assert answer.status_code == 404, expires


@pytest.mark.parametrize("limit", ["²", "0", "9" * 30, "-3"])
def test_a_control_query_integer_is_ascii_digits_in_range(mock: RunningMock, limit: str) -> None:
    answer = httpx.get(f"{mock.base_url}/__mock__/tasks", params={"limit": limit})
    assert answer.status_code == 422 and answer.json()["msg"].startswith("limit: must be an integer")


def test_a_body_nested_hundreds_deep_is_a_422_naming_the_depth(mock: RunningMock) -> None:
    deep: Any = "x"
    for _ in range(300):
        deep = {"a": deep}
    answer = create(mock, {**valid_body(), "extra": deep})
    assert answer["code"] == 422 and answer["msg"] == "body: nested 65 levels deep; at most 64 are accepted"


def test_a_nul_in_a_file_url_is_an_upload_error_not_a_500(tmp_path: Path) -> None:
    for mock in start_mock(files_dir=str(tmp_path)):
        for url in ("file:///tmp/a%00b.png", f"file://{tmp_path}/a%00.png"):
            answer = mock.client.post("/api/file-url-upload", json={"fileUrl": url, "uploadPath": "x"})
            assert answer.status_code == 200 and answer.json()["code"] == 400, answer.text


def test_a_render_that_meets_a_full_disk_answers_503_and_leaves_no_partial_file(mock: RunningMock,
                                                                                monkeypatch: pytest.MonkeyPatch,
                                                                                tmp_path: Path) -> None:
    import errno

    from mock_server.media import cache

    def full_disk(image: Any, *, target: Path, **kwargs: Any) -> None:
        target.with_suffix(".partial").write_bytes(b"half a video")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache, "render_mp4", full_disk)
    task_id = create(mock, valid_body())["data"]["taskId"]
    mock.clock.advance(600)
    record = mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": task_id}).json()["data"]
    url = json.loads(record["resultJson"])["resultUrls"][0]
    answer = httpx.get(url)
    assert answer.status_code == 503 and "No space left on device" in answer.json()["msg"]
    media = mock.server.app.state.services.media.root
    assert list(media.glob("*.partial")) == []
    monkeypatch.undo()
    assert httpx.get(url, timeout=60).status_code == 200  # room again: rendered


# -- the control API resists a browser ----------------------------------------------------

def test_a_form_or_text_body_is_refused_by_the_control_api(mock: RunningMock) -> None:
    """Regression: a web page could post text/plain JSON to /__mock__/reset from the browser."""
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        answer = httpx.post(f"{mock.base_url}/__mock__/reset", content=b"{}", headers={"Content-Type": content_type})
        assert answer.status_code == 415 and "application/json" in answer.json()["msg"]
    assert httpx.post(f"{mock.base_url}/__mock__/reset", json={}).status_code == 200


def test_a_foreign_origin_is_refused_and_the_pages_own_origin_is_not(mock: RunningMock) -> None:
    foreign = httpx.post(f"{mock.base_url}/__mock__/reset", json={}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "another site" in foreign.json()["msg"]
    own = httpx.post(f"{mock.base_url}/__mock__/reset", json={}, headers={"Origin": mock.base_url})
    assert own.status_code == 200


def test_a_rebound_host_name_is_refused_from_loopback(mock: RunningMock) -> None:
    """DNS rebinding: a page whose name now resolves to 127.0.0.1 still sends its own name."""
    rebound = httpx.get(f"{mock.base_url}/__mock__/tasks", headers={"Host": "evil.example:8000"})
    assert rebound.status_code == 403 and "not this mock's own name" in rebound.json()["msg"]
    for host in ("localhost", f"127.0.0.1:{port_of(mock)}", "[::1]:80"):
        assert httpx.get(f"{mock.base_url}/__mock__/tasks", headers={"Host": host}).status_code == 200, host


def test_the_admin_token_opens_any_host_name() -> None:
    for mock in start_mock(admin_token="s3cret"):
        answer = httpx.get(f"{mock.base_url}/__mock__/tasks",
                           headers={"Host": "mock.internal", "X-Mock-Admin-Token": "s3cret"})
        assert answer.status_code == 200


def test_the_dashboard_cannot_be_framed(mock: RunningMock) -> None:
    page = httpx.get(f"{mock.base_url}/__mock__/")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


# -- memory and time bounded --------------------------------------------------------------

def test_a_create_task_body_over_its_cap_is_refused(mock: RunningMock) -> None:
    """Regression: extra fields were stored verbatim, up to 10 MiB a task, and never pruned."""
    answer = create(mock, {**valid_body(), "junk": "x" * (1024 * 1024)})
    assert answer["code"] == 422 and answer["msg"] == "body: larger than the 1048576 bytes allowed"


def test_a_key_keeps_a_bounded_number_of_tasks_forgetting_the_oldest_ended() -> None:
    from mock_server.services import retention

    for mock in start_mock(max_tasks=10):
        retention.CHECK_EVERY, checked = 1, retention.CHECK_EVERY
        try:
            first = [create(mock, valid_body())["data"]["taskId"] for _ in range(10)]
            refused = create(mock, valid_body())  # none has ended: nothing to forget
            assert refused["code"] == 429 and "Too many tasks kept" in refused["msg"]
            mock.clock.advance(600)  # all ten end
            assert create(mock, valid_body())["code"] == 200
            gone = mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": first[0]}).json()
            assert gone == {"code": 422, "msg": "recordInfo is null", "data": None}
            assert mock.task_count() <= 10
        finally:
            retention.CHECK_EVERY = checked


def test_a_reset_forgets_the_caches_keyed_by_request_values(mock: RunningMock, receiver: Receiver) -> None:
    from contracts.spec import validators
    from mock_server.services import admission

    create(mock, {**valid_body(), "callBackUrl": receiver.url})
    assert admission._cached_target.cache_info().currsize > 0
    control_for(mock).reset()
    assert admission._cached_target.cache_info().currsize == 0
    assert all(cache.cache_info().currsize == 0 for cache in validators._FORMAT_CACHES)


def test_a_huge_uri_is_refused_before_any_regex_runs_on_it() -> None:
    from contracts.spec.validators import MAX_FORMATTED_CHARS, RequestInvalid, request_validators

    validator = request_validators()["bytedance-v1-pro-fast-image-to-video"]
    with pytest.raises(RequestInvalid, match="is not a valid uri"):
        validator.check_body({**valid_body(), "callBackUrl": "http://x/" + "a" * (9 * 1024 * 1024)})
    assert MAX_FORMATTED_CHARS == 8192


def test_an_image_of_too_many_pixels_is_refused_at_upload(mock: RunningMock) -> None:
    """Regression: a 13000x13000 PNG of 160 KiB pushed renders to ~1.9 GB of memory."""
    buffer = io.BytesIO()
    Image.new("1", (7000, 7000)).save(buffer, format="PNG")  # 49 million pixels, a few KiB
    answer = mock.client.post("/api/file-stream-upload", files={"file": ("big.png", buffer.getvalue(), "image/png")},
                              data={"uploadPath": "x"}).json()
    assert answer["success"] is False
    assert answer["msg"] == "file: 7000x7000 pixels; at most 40000000 pixels are accepted"


def test_a_client_that_drips_its_headers_is_cut_off() -> None:
    """Regression: no header read timeout (slowloris); a byte every few seconds held a connection."""
    import os

    from mock_server.testing import ENV_PREFIX, MockProcess

    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)} | {
        f"{ENV_PREFIX}HEADER_TIMEOUT_SECONDS": "0.5"}
    with MockProcess("--port", "0", "--log-level", "warning", env=env) as served:
        host, port = served.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"GET /__mock__/health HTTP/1.1\r\nHost: x\r\n")  # and never the end of the headers
            assert sock.recv(100) == b""  # closed by the mock (within the 10 s bound, not by it)
        assert httpx.get(f"{served.base_url}/__mock__/health").status_code == 200


def test_a_body_that_never_arrives_in_full_answers_408() -> None:
    for mock in start_mock(body_timeout_seconds=0.3):
        host, port = mock.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            head = f"POST {CREATE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {API_KEY}\r\n"
            sock.sendall(head.encode() + b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"model\"")
            answer = sock.recv(65536)
        assert b'"code":408' in answer and b"not received in full within 0.3 s" in answer


def test_a_second_serve_on_a_db_another_serves_refuses_to_start(tmp_path: Path) -> None:
    """Regression: two plain `serve --db SAME` delivered every callback twice, silently."""
    import subprocess
    import sys

    from mock_server.testing import MockProcess

    db = tmp_path / "state.db"
    with MockProcess("--port", "0", "--db", str(db), "--log-level", "warning"):
        second = subprocess.run([sys.executable, "-m", "mock_server", "serve", "--port", "0", "--db", str(db)],
                                capture_output=True, text=True, timeout=60)
    assert second.returncode == 2 and f"db {db}: another apikley-mock process serves it" in second.stderr


def test_a_replayed_task_id_that_is_not_a_plain_name_is_never_served(tmp_path: Path) -> None:
    from mock_server.services.replay import ReplayBook

    for task_id in ("..", "a/../../etc", ".hidden"):
        record = {"taskId": task_id, "state": "waiting", "param": "{}", "createTime": 1_765_182_752_206,
                  "updateTime": 1_765_182_752_206}
        cassette = {"http_interactions": [{"request": {"method": "GET", "uri": f"http://x/api/v1/jobs/recordInfo?"
                                                       f"taskId={task_id}", "headers": {}},
                                           "response": {"status": {"code": 200}, "headers": {},
                                                        "body": {"string": json.dumps({"code": 200, "msg": "success",
                                                                                       "data": record})}},
                                           "recorded_at": "2026-12-01T00:00:00"}]}
        (tmp_path / "000001-recordInfo.json").write_text(json.dumps(cassette))
        assert ReplayBook.load(tmp_path).seen == {}, task_id


def test_one_task_that_cannot_be_settled_holds_up_no_other(mock: RunningMock, receiver: Receiver,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    settlement = mock.server.app.state.services.settlement
    real = settlement._settle
    poisoned = create(mock, {**valid_body(), "callBackUrl": receiver.url})["data"]["taskId"]
    healthy = create(mock, {**valid_body(), "callBackUrl": receiver.url})["data"]["taskId"]

    def settle(task: Any, timeline: Any) -> None:
        if task.task_id == poisoned:
            raise RuntimeError("cannot settle this one")
        real(task, timeline)

    monkeypatch.setattr(settlement, "_settle", settle)
    assert [entry["result"] for entry in control_for(mock).wait_for_callback(healthy)] == ["delivered"]
    monkeypatch.setattr(settlement, "_settle", real)
    control_for(mock).advance(61)  # it is tried again a virtual minute later
    assert [entry["result"] for entry in control_for(mock).wait_for_callback(poisoned)] == ["delivered"]
