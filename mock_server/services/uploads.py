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
    DATA_URL_MISMATCH,
    DATA_URL_NOT_IMAGE,
    FETCH_FAILED,
    FETCH_OFFLINE,
    FETCH_SELF,
    FILE_EMPTY,
    FILE_OVER_LIMIT,
    NOT_BASE64,
    ApiError,
)
from mock_server.media.images import IMAGE_TYPES, sniff_image
from mock_server.net import OUTGOING_HEADERS, OwnAddresses, is_loopback
from mock_server.sim.clock import VirtualClock
from mock_server.sim.tokens import Tokens
from mock_server.store.uploads import OfflineFiles, UploadStore
from mock_server.urls import FILES_PREFIX

DATA_URL_TYPES = frozenset(mime for mime, _ in IMAGE_TYPES.values())


class UploadService:
    def __init__(self, *, store: UploadStore, files: OfflineFiles, clock: VirtualClock,
                 transport: httpx.AsyncBaseTransport | None = None, fetch_timeout_seconds: float = 30.0,
                 tokens: Tokens, own: OwnAddresses | None = None) -> None:
        self._store = store
        self._tokens = tokens
        self._own = own or OwnAddresses()
        self._files = files
        self._clock = clock
        self._transport = transport
        self._fetch_timeout = fetch_timeout_seconds  # upstream: file-url-upload gives up after 30 s

    @property
    def max_file_bytes(self) -> int:
        return self._store.max_file_bytes

    @property
    def used_bytes(self) -> int:
        """Bytes of uploads stored, as counted against the upload quota."""
        return self._store.used_bytes

    async def file_stream_upload(self, api_key: str, fields: dict[str, Any], data: bytes, *,
                                 origin: str) -> dict[str, Any]:
        return await self._save(api_key, fields, data, origin)

    async def file_base64_upload(self, api_key: str, body: dict[str, Any], *, origin: str) -> dict[str, Any]:
        declared, data = decode_base64(body["base64Data"])
        return await self._save(api_key, body, data, origin, declared=declared)

    async def file_url_upload(self, api_key: str, body: dict[str, Any], *, origin: str,
                              own: Iterable[str] = ()) -> dict[str, Any]:
        return await self._save(api_key, body, await self._fetch(body["fileUrl"], (origin, *own)), origin)

    async def _save(self, api_key: str, fields: dict[str, Any], data: bytes, origin: str, *,
                    declared: str | None = None) -> dict[str, Any]:
        """Stored in the key's own unguessable folder: another key can neither overwrite nor
        name it; `filePath` is the path asked for, `downloadUrl` the folder's."""
        folder = self._tokens.uploads(api_key)
        stored = await asyncio.to_thread(self._store_file, folder, fields["uploadPath"], fields.get("fileName"),
                                         data, declared)
        stored["downloadUrl"] = f"{origin}{FILES_PREFIX}{quote(folder + '/' + stored['filePath'])}"
        return stored

    def _store_file(self, folder: str, upload_path: str, file_name: str | None, data: bytes,
                    declared: str | None) -> dict[str, Any]:
        self._store.check_size(data)
        if not data:
            raise ApiError(400, FILE_EMPTY)
        mime, extension = sniff_image(data)
        if declared is not None and declared != mime:
            raise ApiError(400, DATA_URL_MISMATCH.format(declared=declared, actual=mime))
        name = file_name or f"{hashlib.sha256(data).hexdigest()[:20]}.{extension}"
        path = self._store.save(folder, upload_path, name, data).removeprefix(folder + "/")
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
        if self._own.includes_url(url):  # its own files were found above; anything else of its own is refused
            raise ApiError(400, FETCH_SELF)
        limit = self._store.max_file_bytes
        failed = ApiError(400, FETCH_FAILED.format(seconds=self._fetch_timeout))
        try:
            # The limit is on the whole answer: a server that drips bytes is cut off too.
            async with asyncio.timeout(self._fetch_timeout), \
                    httpx.AsyncClient(transport=self._transport, timeout=self._fetch_timeout,
                                      headers=OUTGOING_HEADERS) as client, \
                    client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise failed
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise ApiError(400, FILE_OVER_LIMIT.format(limit=limit))
                    chunks.append(chunk)
        except (httpx.HTTPError, TimeoutError) as exc:
            raise failed from exc
        return b"".join(chunks)


def decode_base64(value: str) -> tuple[str | None, bytes]:
    """Raw base64, or a `data:<mime>;base64,...` URL: (the media type a data URL declares, bytes)."""
    declared, payload = None, value
    if value.startswith("data:") and "," in value:
        header, payload = value[len("data:"):].split(",", 1)
        declared = header.split(";", 1)[0].strip().lower() or None
        if declared not in DATA_URL_TYPES:
            raise ApiError(400, DATA_URL_NOT_IMAGE.format(mime=declared or "no media type"))
    try:
        return declared, base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, NOT_BASE64) from exc
