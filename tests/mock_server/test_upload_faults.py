"""Filesystem failures during an upload become upload envelope errors, all or nothing.

Regression: schemathesis sent `file-url-upload` with an `uploadPath` segment over 255 bytes
(combining characters) and the mock answered HTTP 500 (`OSError: [Errno 36] File name too
long`). Every way in (multipart, URL, base64) and every filesystem failure must answer
`success: false` with a code and a message naming the field and the rule, leave no file or
folder behind, and leave the quota as it was.
"""

from __future__ import annotations

import base64
import errno
import os
from pathlib import Path

import pytest

from mock_server.store.uploads import QUOTA_FILE
from tests.conftest import RunningMock, start_mock
from tests.mock_server.test_files import png

LONG_SEGMENT = "e\u0301" * 100  # 100 visible letters, 300 bytes in UTF-8: over NAME_MAX


def upload_via(mock: RunningMock, how: str, *, path: str, name: str | None = "cup.png") -> dict:
    data = png()
    fields = {"uploadPath": path} | ({"fileName": name} if name is not None else {})
    if how == "stream":
        response = mock.client.post("/api/file-stream-upload", files={"file": ("cup.png", data, "image/png")},
                                    data=fields)
    elif how == "base64":
        response = mock.client.post("/api/file-base64-upload",
                                    json=fields | {"base64Data": base64.b64encode(data).decode()})
    else:
        response = mock.client.post("/api/file-url-upload", json=fields | {"fileUrl": SOURCE[mock.base_url]})
    assert response.status_code == 200  # upstream status policy: errors in the envelope
    return dict(response.json())


def upload_bytes(mock: RunningMock) -> int:
    return int(mock.client.get("/__mock__/health").json()["data"]["uploadBytes"])


def stored_entries(root: Path) -> list[str]:
    """What the uploads left on disk inside the key's own folder (the area's quota file, the
    folder itself and the url uploads' source aside)."""
    return sorted(str(Path(*path.relative_to(root).parts[1:])) for path in root.rglob("*")
                  if "sources" not in path.parts and path.name != QUOTA_FILE and path.parent != root)


SOURCE: dict[str, str] = {}  # base URL -> the downloadUrl file-url-upload fetches from


@pytest.fixture
def data_mock(tmp_path: Path):
    for mock in start_mock(data_dir=str(tmp_path)):
        SOURCE[mock.base_url] = upload_via(mock, "stream", path="sources", name="source.png")["data"]["downloadUrl"]
        yield mock, tmp_path / "uploads"


HOW = ["stream", "url", "base64"]


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize(("path", "name", "field"), [
    (f"images/{LONG_SEGMENT}", "cup.png", "uploadPath"),
    ("images", LONG_SEGMENT + ".png", "fileName"),
    ("/".join(["abcdefghij"] * 120), "cup.png", "uploadPath"),  # 1,319 bytes in all
], ids=["long-path-segment", "long-file-name", "long-path"])
def test_over_long_names_are_refused_not_a_500(data_mock, how: str, path: str, name: str, field: str) -> None:
    mock, root = data_mock
    before = upload_bytes(mock)
    payload = upload_via(mock, how, path=path, name=name)
    assert payload["success"] is False and payload["code"] == 400, payload
    assert payload["msg"].startswith(f"{field}:") and "at most" in payload["msg"]
    assert upload_bytes(mock) == before
    assert stored_entries(root) == []


@pytest.mark.parametrize("how", HOW)
def test_a_path_segment_that_is_an_existing_file(data_mock, how: str) -> None:
    mock, root = data_mock
    assert upload_via(mock, "stream", path="images", name="cup.png")["success"] is True
    before, entries = upload_bytes(mock), stored_entries(root)
    payload = upload_via(mock, how, path="images/cup.png/deeper", name="x.png")
    assert payload["success"] is False and payload["code"] == 400
    assert payload["msg"] == "uploadPath: 'cup.png' is an existing file, not a folder"
    assert upload_bytes(mock) == before and stored_entries(root) == entries


def test_a_file_name_that_is_an_existing_folder(data_mock) -> None:
    mock, root = data_mock
    assert upload_via(mock, "stream", path="images/inner", name="cup.png")["success"] is True
    before, entries = upload_bytes(mock), stored_entries(root)
    payload = upload_via(mock, "base64", path="images", name="inner")
    assert payload == {"success": False, "code": 400,
                       "msg": "fileName: 'inner' is an existing folder under this uploadPath"}
    assert upload_bytes(mock) == before and stored_entries(root) == entries


@pytest.mark.parametrize(("error", "code", "message"), [
    (errno.ENOSPC, 500, "the mock's disk is full; the file was not stored"),
    (errno.EACCES, 500, "the mock could not store the file (Permission denied); nothing was stored"),
    (errno.EROFS, 500, "the mock could not store the file (Read-only file system); nothing was stored"),
])
def test_disk_errors_while_writing_leave_nothing_behind(data_mock, monkeypatch: pytest.MonkeyPatch,
                                                        error: int, code: int, message: str) -> None:
    mock, root = data_mock
    assert upload_via(mock, "stream", path="kept", name="cup.png")["success"] is True
    before, entries = upload_bytes(mock), stored_entries(root)

    def failing_replace(source: str, target: str) -> None:  # the disk fails at the last step
        raise OSError(error, os.strerror(error), target)

    monkeypatch.setattr("mock_server.store.uploads.os.replace", failing_replace)
    payload = upload_via(mock, "base64", path="new/folders", name="cup.png")
    assert payload == {"success": False, "code": code, "msg": message}
    overwrite = upload_via(mock, "stream", path="kept", name="cup.png")
    assert overwrite["success"] is False
    assert upload_bytes(mock) == before
    assert stored_entries(root) == entries  # no partial file, no new folder

    monkeypatch.undo()
    assert upload_via(mock, "base64", path="new/folders", name="cup.png")["success"] is True
    assert upload_bytes(mock) == before + len(png())


def test_mirror_policy_answers_the_envelope_code_as_http_status(tmp_path: Path) -> None:
    for mock in start_mock(data_dir=str(tmp_path), status_policy="mirror"):
        response = mock.client.post("/api/file-base64-upload", json={
            "base64Data": base64.b64encode(png()).decode(), "uploadPath": LONG_SEGMENT})
        assert response.status_code == 400 and response.json()["success"] is False


def test_reading_a_file_by_an_over_long_name_is_a_404(mock: RunningMock) -> None:
    response = mock.client.get(f"/files/{LONG_SEGMENT}/x.png")
    assert response.status_code == 404
