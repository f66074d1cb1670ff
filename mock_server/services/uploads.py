"""Uploads: the three ways a file arrives (multipart, a URL, base64), judged by content and
stored; the answer's `downloadUrl` is on the mock's origin and works as `image_url`.

The mock never reaches the network: a URL is fetched only when it names the mock's own
files, a loopback server, or a file under `files_dir`. Decoding and writing run in a worker
thread, not on the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from mock_server.errors import (
    FETCH_FAILED,
    FETCH_OFFLINE,
    FETCH_STATUS,
    FILE_EMPTY,
    FILE_OVER_LIMIT,
    NOT_BASE64,
    ApiError,
)
from mock_server.media.images import sniff_image
from mock_server.net import is_loopback
from mock_server.sim.clock import VirtualClock
from mock_server.store.uploads import OfflineFiles, UploadStore
from mock_server.urls import FILES_PREFIX

FETCH_TIMEOUT_SECONDS = 30.0  # upstream: file-url-upload gives up after 30 s


class UploadService:
    def __init__(self, *, store: UploadStore, files: OfflineFiles, clock: VirtualClock,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._store = store
        self._files = files
        self._clock = clock
        self._transport = transport

    @property
    def max_file_bytes(self) -> int:
        return self._store.max_file_bytes

    @property
    def used_bytes(self) -> int:
        """Bytes of uploads stored, as counted against the upload quota."""
        return self._store.used_bytes

    async def file_stream_upload(self, fields: dict[str, Any], data: bytes, *, origin: str) -> dict[str, Any]:
        return await self._save(fields, data, origin)

    async def file_base64_upload(self, body: dict[str, Any], *, origin: str) -> dict[str, Any]:
        return await self._save(body, decode_base64(body["base64Data"]), origin)

    async def file_url_upload(self, body: dict[str, Any], *, origin: str, own: Iterable[str] = ()) -> dict[str, Any]:
        return await self._save(body, await self._fetch(body["fileUrl"], (origin, *own)), origin)

    async def _save(self, fields: dict[str, Any], data: bytes, origin: str) -> dict[str, Any]:
        stored = await asyncio.to_thread(self._store_file, fields["uploadPath"], fields.get("fileName"), data)
        stored["downloadUrl"] = f"{origin}{FILES_PREFIX}{quote(stored['filePath'])}"
        return stored

    def _store_file(self, upload_path: str, file_name: str | None, data: bytes) -> dict[str, Any]:
        self._store.check_size(data)
        if not data:
            raise ApiError(400, FILE_EMPTY)
        mime, extension = sniff_image(data)
        name = file_name or f"{hashlib.sha256(data).hexdigest()[:20]}.{extension}"
        path = self._store.save(upload_path, name, data)
        uploaded = datetime.fromtimestamp(self._clock.now_ms() / 1000, UTC)
        return {"fileName": name, "filePath": path, "fileSize": len(data), "mimeType": mime,
                "uploadedAt": uploaded.isoformat(timespec="milliseconds").replace("+00:00", "Z")}

    async def _fetch(self, url: str, own: Iterable[str]) -> bytes:
        local = self._files.find(url, own=own)
        if local is not None:
            return await asyncio.to_thread(local.read_bytes)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not is_loopback((parts.hostname or "").lower()):
            raise ApiError(400, FETCH_OFFLINE)
        limit = self._store.max_file_bytes
        try:
            async with httpx.AsyncClient(transport=self._transport, timeout=FETCH_TIMEOUT_SECONDS) as client, \
                    client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise ApiError(400, FETCH_STATUS.format(status=response.status_code))
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise ApiError(400, FILE_OVER_LIMIT.format(limit=limit))
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise ApiError(400, FETCH_FAILED.format(reason=type(exc).__name__)) from exc
        return b"".join(chunks)


def decode_base64(value: str) -> bytes:
    """Raw base64, or a `data:<mime>;base64,...` URL."""
    payload = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, NOT_BASE64) from exc
