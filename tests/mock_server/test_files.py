"""Real results and files: playable videos made from the upload, range requests, retention,
the three uploads with their documented errors, download-url."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import av
import httpx
import pytest
from PIL import Image

from tests.conftest import OTHER_KEY, RunningMock, valid_body

ORANGE = (240, 120, 20)
CREATE = "/api/v1/jobs/createTask"


def png(colour: tuple[int, int, int] = ORANGE, size: tuple[int, int] = (320, 180)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(mock: RunningMock, data: bytes, *, name: str = "cup.png", path: str = "images/test") -> dict:
    response = mock.client.post("/api/file-stream-upload", files={"file": (name, data, "image/png")},
                                data={"uploadPath": path, "fileName": name})
    return dict(response.json())


def finished_result_url(mock: RunningMock, body: dict) -> str:
    task_id = mock.client.post(CREATE, json=body).json()["data"]["taskId"]
    mock.clock.advance(600)
    record = mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": task_id}).json()["data"]
    assert record["state"] == "success"
    return str(json.loads(record["resultJson"])["resultUrls"][0])


def probe(video: bytes) -> tuple[str, int, int, str, float, tuple[float, ...]]:
    with av.open(io.BytesIO(video), mode="r") as container:
        stream = container.streams.video[0]
        first = next(container.decode(stream)).to_ndarray(format="rgb24")
        duration = float(container.duration or 0) / av.time_base
        return (stream.codec_context.name, stream.width, stream.height, str(stream.codec_context.pix_fmt),
                duration, tuple(float(v) for v in first.reshape(-1, 3).mean(axis=0)))


def test_upload_then_create_then_download_a_video_made_from_it(mock: RunningMock) -> None:
    uploaded = upload(mock, png())
    assert uploaded["success"] is True and uploaded["code"] == 200
    assert uploaded["data"]["mimeType"] == "image/png" and uploaded["data"]["fileName"] == "cup.png"
    url = finished_result_url(mock, valid_body(image_url=uploaded["data"]["downloadUrl"]))
    response = httpx.get(url, timeout=60)
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert int(response.headers["content-length"]) == len(response.content)
    codec, width, height, pix_fmt, duration, mean = probe(response.content)
    assert (codec, width, height, pix_fmt) == ("h264", 1280, 720, "yuv420p")
    assert duration == pytest.approx(5.0, abs=0.1)
    assert all(abs(got - want) < 25 for got, want in zip(mean, ORANGE, strict=True))  # it is the upload


def test_1080p_10s_from_a_data_url(mock: RunningMock) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(png((20, 160, 60))).decode()
    url = finished_result_url(mock, valid_body(image_url=data_url, resolution="1080p", duration="10"))
    codec, width, height, _, duration, mean = probe(httpx.get(url, timeout=60).content)
    assert (codec, width, height) == ("h264", 1920, 1080)
    assert duration == pytest.approx(10.0, abs=0.1)
    assert mean[1] > mean[0] + 60  # green, like the input


def test_unreadable_input_gets_a_test_card(mock: RunningMock) -> None:
    url = finished_result_url(mock, valid_body(image_url="https://example.com/not-offline.png"))
    codec, width, height, _, _, mean = probe(httpx.get(url, timeout=60).content)
    assert (codec, width, height) == ("h264", 1280, 720)
    assert max(mean) - min(mean) < 60  # colour bars and text, not a single colour


def test_range_requests(mock: RunningMock) -> None:
    url = finished_result_url(mock, valid_body())
    whole = httpx.get(url, timeout=60).content
    part = httpx.get(url, headers={"Range": "bytes=100-199"}, timeout=60)
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"
    assert part.content == whole[100:200]
    assert httpx.get(url, headers={"Range": f"bytes={len(whole) + 10}-"}).status_code == 416


def result_url_of(mock: RunningMock, task_id: str) -> str:
    """Where the task's result will be (white box: the URL is unguessable until its record says)."""
    token = mock.server.app.state.services.tasks._tokens.result(task_id)
    return f"{mock.base_url}/results/{token}/{task_id}.mp4"


def test_results_are_404_before_the_end_and_after_retention(mock: RunningMock) -> None:
    task_id = mock.client.post(CREATE, json=valid_body()).json()["data"]["taskId"]
    url = result_url_of(mock, task_id)
    early = httpx.get(url)
    assert early.status_code == 404 and early.json()["code"] == 404
    mock.clock.advance(600)
    record = mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": task_id}).json()["data"]
    assert json.loads(record["resultJson"])["resultUrls"] == [url]
    assert httpx.get(url, timeout=60).status_code == 200
    mock.clock.advance(24 * 3600)
    assert httpx.get(url).status_code == 404


def test_a_result_url_cannot_be_guessed_from_the_task_id(mock: RunningMock) -> None:
    """Regression: results were at /results/<sequential id>.mp4, readable by anyone who guessed."""
    task_id = mock.client.post(CREATE, json=valid_body()).json()["data"]["taskId"]
    mock.clock.advance(600)
    assert httpx.get(result_url_of(mock, task_id), timeout=60).status_code == 200
    for guessed in (f"/results/{task_id}.mp4", f"/results/{'0' * 24}/{task_id}.mp4",
                    f"/results/{result_url_of(mock, task_id + '0').split('/')[-2]}/{task_id}.mp4"):
        assert httpx.get(mock.base_url + guessed).status_code == 404, guessed
    assert mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": task_id}).json()["code"] == 200
    mock.clock.advance(14 * 24 * 3600)
    expired = mock.client.get("/api/v1/jobs/recordInfo", params={"taskId": task_id}).json()
    assert expired == {"code": 422, "msg": "recordInfo is null", "data": None}


def test_download_url_gives_a_20_minute_link(mock: RunningMock) -> None:
    url = finished_result_url(mock, valid_body())
    payload = mock.client.post("/api/v1/common/download-url", json={"url": url}).json()
    assert payload["code"] == 200
    link = payload["data"]
    assert link.startswith(url + "?expires=")
    assert httpx.get(link, timeout=60).status_code == 200
    assert httpx.get(link.replace("token=", "token=0"), timeout=60).status_code == 404  # forged
    mock.clock.advance(20 * 60 + 1)
    assert httpx.get(link).status_code == 404
    assert httpx.get(url, timeout=60).status_code == 200  # the result itself lives on


@pytest.mark.parametrize("url", ["https://example.com/video.mp4", "http://127.0.0.1:1/results/x.mp4"])
def test_download_url_refuses_urls_it_did_not_generate(mock: RunningMock, url: str) -> None:
    payload = mock.client.post("/api/v1/common/download-url", json={"url": url}).json()
    assert payload["code"] == 422 and "not a file generated by this service" in payload["msg"]


def test_download_url_of_another_keys_result_is_refused(mock: RunningMock) -> None:
    url = finished_result_url(mock, valid_body())
    with mock.client_for(OTHER_KEY) as other:
        assert other.post("/api/v1/common/download-url", json={"url": url}).json()["code"] == 422


def test_base64_upload_raw_and_data_url(mock: RunningMock) -> None:
    raw = base64.b64encode(png()).decode()
    for value in (raw, "data:image/png;base64," + raw):
        payload = mock.client.post("/api/file-base64-upload",
                                   json={"base64Data": value, "uploadPath": "b64"}).json()
        assert payload["success"] is True and payload["data"]["fileSize"] == len(png())
        assert payload["data"]["fileName"].endswith(".png")  # random (content hash) when omitted
        assert httpx.get(payload["data"]["downloadUrl"]).content == png()


def test_url_upload_from_the_mocks_own_files(mock: RunningMock) -> None:
    first = upload(mock, png())
    payload = mock.client.post("/api/file-url-upload", json={
        "fileUrl": first["data"]["downloadUrl"], "uploadPath": "copies", "fileName": "copy.png"}).json()
    assert payload["success"] is True and payload["data"]["filePath"] == "copies/copy.png"


def test_url_upload_from_a_file_under_files_dir(tmp_path: Path) -> None:
    from tests.conftest import start_mock

    (tmp_path / "in.png").write_bytes(png())
    for mock in start_mock(files_dir=str(tmp_path)):
        payload = mock.client.post("/api/file-url-upload", json={
            "fileUrl": (tmp_path / "in.png").as_uri(), "uploadPath": "local"}).json()
        assert payload["success"] is True
        outside = mock.client.post("/api/file-url-upload", json={
            "fileUrl": "file:///etc/hostname", "uploadPath": "local"}).json()
        assert outside["success"] is False and outside["code"] == 400


@pytest.mark.parametrize(("body", "message"), [
    ({"fileUrl": "https://example.com/cup.png", "uploadPath": "x"}, "fetches only its own files"),
    ({"fileUrl": "http://127.0.0.1:1/cup.png", "uploadPath": "x"}, "could not be fetched"),
    ({"fileUrl": "https://example.com/cup.png"}, "Missing required parameter: uploadPath"),
])
def test_url_upload_errors(mock: RunningMock, body: dict, message: str) -> None:
    payload = mock.client.post("/api/file-url-upload", json=body).json()
    assert payload["success"] is False and payload["code"] == 400 and message in payload["msg"]


BAD_UPLOADS = {
    "too-big": ({"file": ("big.png", png() + b"\0" * (10 * 1024 * 1024), "image/png")},
                {"uploadPath": "x"}, "limit"),
    "text-behind-png-name": ({"file": ("cup.png", b"just some text, not a picture", "image/png")},
                             {"uploadPath": "x"}, "not a JPEG, PNG or WebP image"),
    "gif-is-not-accepted": ({"file": ("a.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif")},
                            {"uploadPath": "x"}, "not"),
    "traversal-in-upload-path": ({"file": ("cup.png", png(), "image/png")}, {"uploadPath": "a/../../etc"},
                                 "is not allowed in a file path"),
    "traversal-in-file-name": ({"file": ("cup.png", png(), "image/png")},
                               {"uploadPath": "x", "fileName": ".."}, "is not allowed"),
    "leading-slash": ({"file": ("cup.png", png(), "image/png")}, {"uploadPath": "/abs"}, "uploadPath"),
    "missing-upload-path": ({"file": ("cup.png", png(), "image/png")}, {}, "Missing required parameter: uploadPath"),
    "missing-file": (None, {"uploadPath": "x"}, "Missing required parameter: file"),
}


@pytest.mark.parametrize(("files", "data", "message"), BAD_UPLOADS.values(), ids=BAD_UPLOADS.keys())
def test_bad_uploads_get_their_documented_error(mock: RunningMock, files: dict | None, data: dict,
                                                message: str) -> None:
    response = mock.client.post("/api/file-stream-upload", files=files or {"other": ("a", b"x")}, data=data)
    payload = response.json()
    assert response.status_code == 200  # upstream status policy
    assert payload["success"] is False and payload["code"] == 400 and message in payload["msg"]
    assert "data" not in payload


def test_upload_without_a_key_is_401(mock: RunningMock) -> None:
    with mock.client_for(None) as anonymous:
        payload = anonymous.post("/api/file-base64-upload", json={"base64Data": "eA==", "uploadPath": "x"}).json()
    assert payload == {"success": False, "code": 401, "msg": "You do not have access permissions"}


def test_uploads_expire_after_3_days(mock: RunningMock) -> None:
    url = upload(mock, png())["data"]["downloadUrl"]
    assert httpx.get(url).status_code == 200
    mock.clock.advance(3 * 24 * 3600 + 1)
    assert httpx.get(url).status_code == 404


def test_same_name_overwrites(mock: RunningMock) -> None:
    upload(mock, png(ORANGE))
    url = upload(mock, png((0, 0, 255)))["data"]["downloadUrl"]
    assert Image.open(io.BytesIO(httpx.get(url).content)).getpixel((0, 0)) == (0, 0, 255)


def test_another_key_can_neither_overwrite_nor_guess_an_upload(mock: RunningMock) -> None:
    """Regression: every key's uploads shared one namespace, so another key could overwrite yours."""
    mine = upload(mock, png(ORANGE))["data"]
    theirs = mock.client_for(OTHER_KEY).post("/api/file-base64-upload", json={
        "base64Data": base64.b64encode(png((0, 0, 255))).decode(), "uploadPath": "images/test",
        "fileName": mine["fileName"]}).json()["data"]
    assert theirs["filePath"] == mine["filePath"] and theirs["downloadUrl"] != mine["downloadUrl"]
    assert Image.open(io.BytesIO(httpx.get(mine["downloadUrl"]).content)).getpixel((0, 0)) == ORANGE
    assert httpx.get(f"{mock.base_url}/files/{mine['filePath']}").status_code == 404  # no folder: no file


def test_malformed_or_oversized_multipart_is_an_upload_error(mock: RunningMock) -> None:
    fields = {f"extra{number}": "x" for number in range(150)} | {"uploadPath": "x"}
    payload = mock.client.post("/api/file-stream-upload", files={"file": ("a.png", png(), "image/png")},
                               data=fields).json()
    assert payload["success"] is False and payload["code"] == 400 and "multipart body" in payload["msg"]
    broken = mock.client.post("/api/file-stream-upload", content=b"--x\r\nnot multipart",
                              headers={"Content-Type": "multipart/form-data; boundary=x"}).json()
    assert broken["success"] is False and broken["code"] == 400


def test_upload_storage_is_bounded_and_overwrites_are_not_counted_twice() -> None:
    from tests.conftest import start_mock

    size = len(png())
    for mock in start_mock(max_data_bytes=4 * size + 10):  # half of it, 2 files, for uploads
        first = upload(mock, png(), name="a.png")
        assert first["success"] is True
        assert upload(mock, png(), name="a.png")["success"] is True  # overwrite: still one file
        assert upload(mock, png(), name="b.png")["success"] is True
        full = upload(mock, png(), name="c.png")
        assert full["success"] is False and full["code"] == 500 and "storage is full" in full["msg"]
        mock.clock.advance(3 * 24 * 3600 + 1)
        assert httpx.get(first["data"]["downloadUrl"]).status_code == 404  # expired: space freed
        assert upload(mock, png(), name="c.png")["success"] is True


def test_processes_sharing_a_data_directory_share_its_upload_quota(tmp_path: Path) -> None:
    """Regression: the quota was counted per process, so each of `--workers N` could fill the
    budget on its own. Two mocks on one data directory (as two workers are) share it."""
    from tests.conftest import start_mock

    size = len(png())
    shared = {"max_data_bytes": 4 * size + 10, "data_dir": str(tmp_path / "data")}  # two files for uploads
    for first in start_mock(**shared):
        for second in start_mock(**shared):
            assert upload(first, png(), name="a.png")["success"] is True
            assert upload(second, png(), name="b.png")["success"] is True
            full = upload(first, png(), name="c.png")
            assert full["success"] is False and "storage is full" in full["msg"]
            health = [httpx.get(f"{mock.base_url}/__mock__/health").json()["data"] for mock in (first, second)]
            assert [found["uploadBytes"] for found in health] == [2 * size, 2 * size]
