"""Uploaded files on disk, and which files the mock can read offline.

Files live under `<data dir>/uploads/<uploadPath>/<fileName>`; size, paths and retention are
bounded, and nothing outside the upload area can be named. `OfflineFiles` answers "can the
mock read this URL without the network?": its own uploads, or files under `files_dir`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mock_server.errors import (
    DISK_FULL,
    FILE_NAME_SLASH,
    FILE_TOO_LARGE,
    NAME_IS_A_FOLDER,
    NAME_TOO_LONG_FOR_DISK,
    PATH_ESCAPES,
    PATH_IS_A_FILE,
    PATH_PART_REFUSED,
    PATH_TOO_LONG,
    SEGMENT_TOO_LONG,
    STORAGE_FAILED,
    STORAGE_FULL,
    ApiError,
)
from mock_server.net import is_own_url
from mock_server.sim.clock import VirtualClock
from mock_server.urls import FILES_PREFIX

# Filesystem limits, checked before the filesystem sees the name: NAME_MAX for one segment,
# and a bound on the whole uploadPath well inside PATH_MAX (the data dir comes in front).
MAX_SEGMENT_BYTES = 255
MAX_PATH_BYTES = 1024
PARTIAL_PREFIX = ".partial-"
QUOTA_FILE = ".quota"  # bytes stored, at the area's root (no upload can be named there)


def safe_parts(upload_path: str, file_name: str) -> list[str]:
    """The path segments, refusing anything that could leave the upload directory or that
    the filesystem would refuse."""
    segments = upload_path.split("/")
    for field, part in [*(("uploadPath", segment) for segment in segments), ("fileName", file_name)]:
        if (part in ("", ".", "..") or any(bad in part for bad in ("\\", ":"))
                or any(ord(char) < 0x20 or ord(char) == 0x7F for char in part) or not _encodable(part)):
            raise ApiError(400, PATH_PART_REFUSED.format(part=part[:60]))
        if (size := len(part.encode("utf-8"))) > MAX_SEGMENT_BYTES:
            raise ApiError(400, SEGMENT_TOO_LONG.format(field=field, part=part[:20] + "...", size=size,
                                                        limit=MAX_SEGMENT_BYTES))
    if "/" in file_name:
        raise ApiError(400, FILE_NAME_SLASH)
    if (size := len(upload_path.encode("utf-8"))) > MAX_PATH_BYTES:
        raise ApiError(400, PATH_TOO_LONG.format(size=size, limit=MAX_PATH_BYTES))
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
        with self._quota() as used:
            for leftover in self.root.rglob(PARTIAL_PREFIX + "*"):  # from a process killed mid-write
                leftover.unlink(missing_ok=True)
            # Counted here, then kept up to date by every process sharing the area (no walk per upload).
            used[0] = sum(path.stat().st_size for path in self.root.rglob("*")
                          if path.is_file() and path.parent != self.root)

    @property
    def used_bytes(self) -> int:
        with self._quota() as used:
            return used[0]

    @contextlib.contextmanager
    def _quota(self) -> Iterator[list[int]]:
        """The bytes stored, as `[count]`, with the area locked: workers sharing a data
        directory share its quota. A changed count is written back when the block ends."""
        with self._lock, open(self.root / QUOTA_FILE, "a+", encoding="ascii") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
            handle.seek(0)
            text = handle.read().strip()
            before = int(text) if text.isdigit() else 0
            used = [before]
            yield used
            if used[0] != before:
                handle.seek(0)
                handle.truncate()
                handle.write(str(used[0]))
                handle.flush()

    def save(self, folder: str, upload_path: str, file_name: str, data: bytes) -> str:
        """Store `data` in `folder` (an API key's own; the same name there overwrites, as
        upstream); returns its path relative to the upload area, folder first. All or nothing:
        on any failure no file, folder or byte of quota is left behind."""
        self.check_size(data)
        parts = [folder, *safe_parts(upload_path, file_name)]
        target = self.root.joinpath(*parts)
        try:
            with self._quota() as used:
                used[0] += self._write(target, parts, data, used[0])
        except OSError as exc:
            raise storage_error(exc) from exc
        return "/".join(parts)

    def _write(self, target: Path, parts: list[str], data: bytes, used: int) -> int:
        """Write the file; returns how the bytes stored changed."""
        if target.is_symlink():
            raise ApiError(400, PATH_ESCAPES)
        if target.is_dir():
            raise ApiError(400, NAME_IS_A_FOLDER.format(name=parts[-1]))
        replaced = target.stat().st_size if target.is_file() else 0
        if used - replaced + len(data) > self.max_total_bytes:
            raise ApiError(500, STORAGE_FULL.format(limit=self.max_total_bytes))
        created = self._make_folders(parts[:-1])
        partial = None
        try:
            descriptor, partial = tempfile.mkstemp(dir=target.parent, prefix=PARTIAL_PREFIX)
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
            now_s = self._clock.now_ms() / 1000
            os.utime(partial, (now_s, now_s))  # uploaded at, on the virtual clock
            os.replace(partial, target)
        except BaseException:
            if partial is not None:
                Path(partial).unlink(missing_ok=True)
            for folder in reversed(created):
                folder.rmdir()
            raise
        return len(data) - replaced

    def _make_folders(self, segments: list[str]) -> list[Path]:
        """Create the folders of `segments` one by one; returns those it created (for undo)."""
        folder, created = self.root, list[Path]()
        for segment in segments:
            folder = folder / segment
            if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
                for made in reversed(created):
                    made.rmdir()
                if folder.is_symlink():
                    raise ApiError(400, PATH_ESCAPES)
                raise ApiError(400, PATH_IS_A_FILE.format(part=segment))
            if not folder.exists():
                folder.mkdir()
                created.append(folder)
        return created

    def check_size(self, data: bytes) -> None:
        if len(data) > self.max_file_bytes:
            raise ApiError(400, FILE_TOO_LARGE.format(size=len(data), limit=self.max_file_bytes))

    def resolve(self, relative: str) -> Path | None:
        """The file at `relative`, if it exists, is inside the store and has not expired."""
        upload_path, _, name = relative.rpartition("/")
        try:
            target = self.root.joinpath(*safe_parts(upload_path, name)).resolve()
            if not target.is_relative_to(self.root) or not target.is_file():
                return None
            if self._clock.now_ms() / 1000 - target.stat().st_mtime <= self._ttl:
                return target
            with self._quota() as used:  # expired uploads are deleted, as upstream
                if target.is_file():
                    used[0] -= target.stat().st_size
                    target.unlink()
        except (ApiError, OSError):
            return None
        return None


def storage_error(exc: OSError) -> ApiError:
    """A filesystem failure as the upload envelope's error."""
    if exc.errno == errno.ENAMETOOLONG:
        return ApiError(400, NAME_TOO_LONG_FOR_DISK)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ApiError(500, DISK_FULL)
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return ApiError(400, PATH_IS_A_FILE.format(part=Path(exc.filename or "?").name))
    return ApiError(500, STORAGE_FAILED.format(reason=exc.strerror or type(exc).__name__))


class OfflineFiles:
    """The local file behind a URL, when the mock can read it without the network."""

    def __init__(self, uploads: UploadStore, files_dir: Path | None) -> None:
        self.uploads = uploads
        self.files_dir = files_dir.resolve() if files_dir is not None else None

    def find(self, url: str, *, own: Iterable[str]) -> Path | None:
        """`own`: the mock's origins (public, listener); loopback URLs count as own too."""
        parts = urlsplit(url)
        if parts.scheme == "file" or (not parts.scheme and url.startswith("/")):
            name = unquote(parts.path)
            if self.files_dir is None or "\x00" in name:  # a NUL cannot name a file
                return None
            path = Path(name).resolve()
            return path if path.is_relative_to(self.files_dir) and path.is_file() else None
        if is_own_url(url, own) and parts.path.startswith(FILES_PREFIX):
            return self.uploads.resolve(unquote(parts.path.removeprefix(FILES_PREFIX)))
        return None
