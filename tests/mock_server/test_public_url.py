"""`--public-url`: every URL the mock mints starts with it, while the listener keeps serving
those paths and recognises its own URLs in both forms (public and listener)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import RunningMock, start_mock, valid_body
from tests.mock_server.test_files import ORANGE, png, probe

PUBLIC = "https://apikley-mock.test"
CREATE = "/api/v1/jobs/createTask"


@pytest.fixture
def public_mock() -> Iterator[RunningMock]:
    yield from start_mock(public_url=PUBLIC + "/")  # a trailing slash is dropped


def on_listener(mock: RunningMock, url: str) -> str:
    assert url.startswith(PUBLIC + "/"), url
    return mock.base_url + url.removeprefix(PUBLIC)


def uploaded(mock: RunningMock, name: str = "cup.png") -> str:
    payload = mock.client.post("/api/file-base64-upload", json={
        "base64Data": base64.b64encode(png()).decode(), "uploadPath": "images", "fileName": name}).json()
    assert payload["success"] is True
    return str(payload["data"]["downloadUrl"])


def finished(mock: RunningMock, body: dict) -> str:
    task_id = mock.client.post(CREATE, json=body).json()["data"]["taskId"]
    mock.clock.advance(600)
    record = mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": task_id}).json()["data"]
    return str(json.loads(record["resultJson"])["resultUrls"][0])


def test_every_minted_url_starts_with_the_public_url(public_mock: RunningMock) -> None:
    upload_url = uploaded(public_mock)
    result_url = finished(public_mock, valid_body(image_url=upload_url))
    link = public_mock.client.post("/api/v1/common/download-url", json={"url": result_url}).json()["data"]
    for url in (upload_url, result_url, link):
        assert url.startswith(PUBLIC + "/")
    assert httpx.get(on_listener(public_mock, upload_url)).content == png()
    video = httpx.get(on_listener(public_mock, link), timeout=60)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    *_, mean = probe(video.content)
    assert all(abs(got - want) < 25 for got, want in zip(mean, ORANGE, strict=True))  # made from the upload


@pytest.mark.parametrize("form", ["public", "listener"])
def test_own_urls_are_recognised_in_both_forms(public_mock: RunningMock, form: str) -> None:
    upload_url = uploaded(public_mock)
    as_given = upload_url if form == "public" else on_listener(public_mock, upload_url)
    copy = public_mock.client.post("/api/file-url-upload", json={
        "fileUrl": as_given, "uploadPath": "copies", "fileName": "copy.png"}).json()
    download = copy["data"]["downloadUrl"]
    assert copy["success"] is True and download.startswith(f"{PUBLIC}/files/") and download.endswith("/copies/copy.png")

    result_url = finished(public_mock, valid_body(image_url=as_given))
    asked = result_url if form == "public" else on_listener(public_mock, result_url)
    link = public_mock.client.post("/api/v1/common/download-url", json={"url": asked}).json()
    assert link["code"] == 200 and link["data"].startswith(result_url + "?expires=")
    *_, mean = probe(httpx.get(on_listener(public_mock, result_url), timeout=60).content)
    assert all(abs(got - want) < 25 for got, want in zip(mean, ORANGE, strict=True))


def test_other_hosts_with_the_same_paths_are_not_the_mocks(public_mock: RunningMock) -> None:
    result_url = finished(public_mock, valid_body())
    foreign = result_url.replace(PUBLIC, "https://elsewhere.example")
    refused = public_mock.client.post("/api/v1/common/download-url", json={"url": foreign}).json()
    assert refused["code"] == 422


def test_without_a_public_url_the_client_origin_is_used(mock: RunningMock) -> None:
    assert uploaded(mock).startswith(mock.base_url + "/files/")
    assert finished(mock, valid_body()).startswith(mock.base_url + "/results/")


@pytest.mark.parametrize("bad", ["ftp://x.test", "apikley-mock.test", "https://x.test/?a=1", "https://x.test:abc"])
def test_a_bad_public_url_is_a_settings_error(bad: str) -> None:
    from mock_server.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="public_url"):
        Settings(public_url=bad)
