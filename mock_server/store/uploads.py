"""Uploaded files on disk, and which files the mock can read offline.

Files live under `<data dir>/uploads/<uploadPath>/<fileName>`; size, paths and retention are
bounded, and nothing outside the upload area can be named. `OfflineFiles` answers "can the
mock read this URL without the network?": its own uploads, or files under `files_dir`.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mock_server.errors import (
    FILE_NAME_SLASH,
    FILE_TOO_LARGE,
    PATH_ESCAPES,
    PATH_PART_REFUSED,
    STORAGE_FULL,
    ApiError,
)
from mock_server.net import is_loopback
from mock_server.sim.clock import VirtualClock
from mock_server.urls import FILES_PREFIX


def safe_parts(upload_path: str, file_name: str) -> list[str]:
    """The path segments, refusing anything that could leave the upload directory."""
    segments = upload_path.split("/")
    for part in [*segments, file_name]:
        if (part in ("", ".", "..") or any(bad in part for bad in ("\\", ":"))
                or any(ord(char) < 0x20 or ord(char) == 0x7F for char in part) or not _encodable(part)):
            raise ApiError(400, PATH_PART_REFUSED.format(part=part[:60]))
    if "/" in file_name:
        raise ApiError(400, FILE_NAME_SLASH)
    return [*segments, file_name]


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates cannot name a file
        return False
    return True


class UploadStore:
    def __init__(self, root: Path, *, clock: VirtualClock, ttl_seconds: float, max_file_bytes: int,
                 max_total_bytes: int) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._ttl = ttl_seconds
        self.max_file_bytes = max_file_bytes
        self.max_total_bytes = max_total_bytes
        self._lock = threading.Lock()
        # Bytes stored, counted once here and kept up to date (no directory walk per upload).
        self._used = sum(path.stat().st_size for path in self.root.rglob("*") if path.is_file())

    def save(self, upload_path: str, file_name: str, data: bytes) -> str:
        """Store `data` (the same name overwrites, as upstream); returns its relative path."""
        self.check_size(data)
        parts = safe_parts(upload_path, file_name)
        target = self.root.joinpath(*parts).resolve()
        if not target.is_relative_to(self.root):
            raise ApiError(400, PATH_ESCAPES)
        with self._lock:
            replaced = target.stat().st_size if target.is_file() else 0
            if self._used - replaced + len(data) > self.max_total_bytes:
                raise ApiError(500, STORAGE_FULL.format(limit=self.max_total_bytes))
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            partial.write_bytes(data)
            os.replace(partial, target)
            self._used += len(data) - replaced
        now_s = self._clock.now_ms() / 1000
        os.utime(target, (now_s, now_s))  # uploaded at, on the virtual clock
        return "/".join(parts)

    def check_size(self, data: bytes) -> None:
        if len(data) > self.max_file_bytes:
            raise ApiError(400, FILE_TOO_LARGE.format(size=len(data), limit=self.max_file_bytes))

    def resolve(self, relative: str) -> Path | None:
        """The file at `relative`, if it exists, is inside the store and has not expired."""
        upload_path, _, name = relative.rpartition("/")
        try:
            target = self.root.joinpath(*safe_parts(upload_path, name)).resolve()
        except ApiError:
            return None
        if not target.is_relative_to(self.root) or not target.is_file():
            return None
        if self._clock.now_ms() / 1000 - target.stat().st_mtime > self._ttl:
            with self._lock:  # expired uploads are deleted, as upstream
                if target.is_file():
                    self._used -= target.stat().st_size
                    target.unlink()
            return None
        return target


class OfflineFiles:
    """The local file behind a URL, when the mock can read it without the network."""

    def __init__(self, uploads: UploadStore, files_dir: Path | None) -> None:
        self.uploads = uploads
        self.files_dir = files_dir.resolve() if files_dir is not None else None

    def find(self, url: str, *, origin: str) -> Path | None:
        parts = urlsplit(url)
        if parts.scheme == "file" or (not parts.scheme and url.startswith("/")):
            if self.files_dir is None:
                return None
            path = Path(unquote(parts.path)).resolve()
            return path if path.is_relative_to(self.files_dir) and path.is_file() else None
        own = f"{parts.scheme}://{parts.netloc}" == origin or is_loopback((parts.hostname or "").lower())
        if own and parts.path.startswith(FILES_PREFIX):
            return self.uploads.resolve(unquote(parts.path.removeprefix(FILES_PREFIX)))
        return None
