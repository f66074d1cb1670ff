"""The bad-input catalogue: each item gets a clear envelope error, the server stays up, and
nothing is stored (no task, no upload byte)."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from contracts.run.serving import ThreadedServer
from mock_server.errors import FETCH_FAILED
from tests.conftest import RunningMock, start_mock, valid_body
from tests.mock_server.test_files import png

CREATE = "/api/v1/jobs/createTask"
DETAILS = "/api/v1/jobs/recordInfo"
STREAM = "/api/file-stream-upload"


def stored(mock: RunningMock) -> tuple[int, int]:
    health = mock.client.get("/__mock__/health").json()["data"]
    return health["tasks"], health["uploadBytes"]


@pytest.fixture
def guarded(mock: RunningMock) -> Iterator[RunningMock]:
    """The mock, checked afterwards: still up, and nothing stored by the bad input."""
    before = stored(mock)
    yield mock
    assert mock.client.get("/__mock__/health").status_code == 200
    assert stored(mock) == before


def upload_error(response: httpx.Response) -> str:
    payload = response.json()
    assert payload["success"] is False and payload["code"] == 400, payload
    return str(payload["msg"])


def multipart(parts: list[tuple[str, bytes]], *, close: bool = True) -> bytes:
    body = b"".join(b'--x\r\nContent-Disposition: form-data; name="%s"%s\r\n\r\n%s\r\n'
                    % (name.encode(), b'; filename="a.png"' if name == "file" else b"", value)
                    for name, value in parts)
    return body + (b"--x--\r\n" if close else b"")


MULTIPART = {"Content-Type": "multipart/form-data; boundary=x"}


def test_truncated_multipart(guarded: RunningMock) -> None:
    whole = multipart([("uploadPath", b"images"), ("file", png())], close=False)
    response = guarded.client.post(STREAM, content=whole[: len(whole) - 40], headers=MULTIPART)
    assert "multipart body" in upload_error(response)


def test_malformed_multipart(guarded: RunningMock) -> None:
    response = guarded.client.post(STREAM, content=b"--x\r\nno headers here", headers=MULTIPART)
    assert "multipart body" in upload_error(response)


@pytest.mark.parametrize(("parts", "name"), [
    ([("uploadPath", b"a"), ("uploadPath", b"b"), ("file", png())], "uploadPath"),
    ([("uploadPath", b"a"), ("file", png()), ("file", png())], "file"),
])
def test_a_repeated_multipart_field(guarded: RunningMock, parts: list[tuple[str, bytes]], name: str) -> None:
    response = guarded.client.post(STREAM, content=multipart(parts), headers=MULTIPART)
    assert upload_error(response) == f"multipart body: field {name!r} appears 2 times; send it once"


def test_base64_that_is_not_base64(guarded: RunningMock) -> None:
    response = guarded.client.post("/api/file-base64-upload", json={"base64Data": "@@not base64@@", "uploadPath": "x"})
    assert upload_error(response) == "base64Data: not valid base64"


@pytest.mark.parametrize(("prefix", "message"), [
    ("data:text/plain;base64,", "base64Data: a data URL of 'text/plain'; only image/jpeg"),
    ("data:;base64,", "base64Data: a data URL of 'no media type'"),
    ("data:image/jpeg;base64,", "base64Data: the data URL says image/jpeg but the content is image/png"),
])
def test_a_data_url_with_a_wrong_media_type(guarded: RunningMock, prefix: str, message: str) -> None:
    value = prefix + base64.b64encode(png()).decode()
    response = guarded.client.post("/api/file-base64-upload", json={"base64Data": value, "uploadPath": "x"})
    assert upload_error(response).startswith(message)


class Origin:
    """A loopback file server that misbehaves on purpose."""

    def __init__(self) -> None:
        self.release = threading.Event()

    async def loop(self, request: Request) -> Response:
        return RedirectResponse(str(request.url), status_code=302)

    async def slow(self, request: Request) -> Response:
        for _ in range(1000):  # held until the test releases it (bounded: 10 s)
            if self.release.is_set():
                break
            await asyncio.sleep(0.01)
        return Response(png(), media_type="image/png")

    async def huge(self, request: Request) -> Response:
        async def chunks() -> Iterator[bytes]:  # type: ignore[misc]
            for _ in range(11):
                yield b"\0" * (1024 * 1024)

        return StreamingResponse(chunks(), media_type="image/png")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/loop", self.loop), Route("/slow", self.slow), Route("/huge", self.huge)])


@pytest.fixture
def origin() -> Iterator[tuple[Origin, str]]:
    served = Origin()
    with ThreadedServer(served.app()) as server:
        yield served, server.base_url
        served.release.set()


def test_a_file_url_that_redirects_in_a_loop(guarded: RunningMock, origin: tuple[Origin, str]) -> None:
    response = guarded.client.post("/api/file-url-upload", json={"fileUrl": f"{origin[1]}/loop", "uploadPath": "x"})
    assert upload_error(response) == FETCH_FAILED.format(seconds=30)


def test_a_file_url_that_is_larger_than_10_mb(guarded: RunningMock, origin: tuple[Origin, str]) -> None:
    response = guarded.client.post("/api/file-url-upload", json={"fileUrl": f"{origin[1]}/huge", "uploadPath": "x"})
    assert upload_error(response) == "file: over the 10485760-byte limit"


def test_a_file_url_that_answers_slowly(origin: tuple[Origin, str]) -> None:
    for mock in start_mock(fetch_timeout_seconds=0.3):
        before = stored(mock)
        response = mock.client.post("/api/file-url-upload", json={"fileUrl": f"{origin[1]}/slow", "uploadPath": "x"})
        assert upload_error(response) == FETCH_FAILED.format(seconds=0.3)
        assert stored(mock) == before


def test_a_file_url_on_a_host_that_is_not_allowed(guarded: RunningMock) -> None:
    response = guarded.client.post("/api/file-url-upload",
                                   json={"fileUrl": "http://10.1.2.3/cup.png", "uploadPath": "x"})
    assert "fetches only its own files" in upload_error(response)


@pytest.mark.parametrize("host", ["10.0.0.5", "192.168.1.20", "169.254.169.254", "[fe80::1]", "[fd00::1]", "0.0.0.0"])
def test_a_callback_url_on_an_internal_address_is_refused(guarded: RunningMock, host: str) -> None:
    answer = guarded.client.post(CREATE, json=valid_body() | {"callBackUrl": f"http://{host}/hook"}).json()
    assert answer["code"] == 422 and answer["data"] is None
    assert answer["msg"].startswith(f"callBackUrl: {host.strip('[]')} is a private, link-local or reserved address")


def test_an_internal_callback_host_is_accepted_when_allowed() -> None:
    for mock in start_mock(callback_allow_hosts=("10.0.0.5",)):
        answer = mock.client.post(CREATE, json=valid_body() | {"callBackUrl": "http://10.0.0.5/hook"}).json()
        assert answer["code"] == 200
        public = mock.client.post(CREATE, json=valid_body() | {"callBackUrl": "https://hooks.example.com/x"}).json()
        assert public["code"] == 200  # a name is not resolved: only called when allowed (journaled as refused)


@pytest.mark.parametrize(("method", "path"), [("GET", DETAILS), ("POST", CREATE)])
def test_a_query_string_with_10000_parameters(guarded: RunningMock, method: str, path: str) -> None:
    query = "taskId=x&" + "&".join("a=1" for _ in range(9999))
    response = guarded.client.request(method, f"{path}?{query}", json=valid_body() if method == "POST" else None)
    assert response.json() == {"code": 422, "msg": "query: 10000 parameters; at most 100 are accepted",
                               "data": None}


def test_headers_over_64_kb(guarded: RunningMock) -> None:
    response = guarded.client.post(CREATE, json=valid_body(), headers={"X-Padding": "a" * 70_000})
    answer = response.json()
    assert answer["code"] == 422 and answer["msg"].startswith("headers: ") and "at most 65536" in answer["msg"]
    upload = guarded.client.post("/api/file-base64-upload", headers={"X-Padding": "a" * 70_000},
                                 json={"base64Data": base64.b64encode(png()).decode(), "uploadPath": "x"})
    assert "at most 65536" in upload_error(upload)
