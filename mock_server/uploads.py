"""File upload: the three upload operations and the store behind them.

Files live under `<data dir>/uploads/<uploadPath>/<fileName>` and are served from the mock's
origin at `/files/<uploadPath>/<fileName>` (the `downloadUrl`, usable as `image_url`). Types
are checked by content, not by name; size, paths and retention are bounded.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from contracts.validators import RequestInvalid, RequestValidator
from mock_server.auth import KeyRing
from mock_server.callbacks import is_loopback
from mock_server.clock import VirtualClock
from mock_server.errors import ApiError, http_status
from mock_server.http import encode_json, parse_json, read_body, require_media_type
from mock_server.settings import Settings

# image_url accepts these (the spec says so in prose: "Accepted types: image/jpeg, image/png,
# image/webp"); Pillow's names for them.
IMAGE_TYPES = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
FETCH_TIMEOUT_SECONDS = 30.0  # upstream: file-url-upload gives up after 30 s
UPLOADED = "File uploaded successfully"
MAX_FORM_FIELDS = 100  # the spec allows extra fields; a bound keeps parsing cheap


class UploadRefused(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def sniff_image(data: bytes) -> tuple[str, str]:
    """(mime type, extension) of a JPEG, PNG or WebP image, judged by its content."""
    from PIL import Image  # here, not at start-up

    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            image.verify()
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        raise UploadRefused(400, "file: not a JPEG, PNG or WebP image (judged by its content)") from exc
    if kind not in IMAGE_TYPES:
        raise UploadRefused(400, f"file: {kind or 'unknown'} images are not accepted; use JPEG, PNG or WebP")
    return IMAGE_TYPES[kind]


def image_type(path: Path) -> str:
    """The stored image's MIME type, from its header (Pillow reads no more than that)."""
    from PIL import Image

    with Image.open(path) as image:
        return IMAGE_TYPES.get(image.format or "", ("application/octet-stream", ""))[0]


def safe_parts(upload_path: str, file_name: str) -> list[str]:
    """The path segments, refusing anything that could leave the upload directory."""
    segments = upload_path.split("/")
    for part in [*segments, file_name]:
        if (part in ("", ".", "..") or any(bad in part for bad in ("\\", ":"))
                or any(ord(char) < 0x20 or ord(char) == 0x7F for char in part) or not _encodable(part)):
            raise UploadRefused(400, f"uploadPath/fileName: {part[:60]!r} is not allowed in a file path")
    if "/" in file_name:
        raise UploadRefused(400, "fileName: must not contain '/'")
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

    def save(self, upload_path: str, file_name: str | None, data: bytes) -> dict[str, Any]:
        if len(data) > self.max_file_bytes:
            raise UploadRefused(400, f"file: {len(data)} bytes is over the {self.max_file_bytes}-byte limit")
        if not data:
            raise UploadRefused(400, "file: is empty")
        mime, extension = sniff_image(data)
        name = file_name or f"{hashlib.sha256(data).hexdigest()[:20]}.{extension}"
        parts = safe_parts(upload_path, name)
        target = self.root.joinpath(*parts).resolve()
        if not target.is_relative_to(self.root):
            raise UploadRefused(400, "uploadPath: must stay inside the upload area")
        with self._lock:
            replaced = target.stat().st_size if target.is_file() else 0
            if self._used - replaced + len(data) > self.max_total_bytes:
                raise UploadRefused(500, f"the mock's upload storage is full ({self.max_total_bytes} bytes)")
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            partial.write_bytes(data)
            os.replace(partial, target)  # the same name overwrites, as upstream
            self._used += len(data) - replaced
        now_ms = self._clock.now_ms()
        os.utime(target, (now_ms / 1000, now_ms / 1000))  # uploaded at, on the virtual clock
        return {"fileName": name, "filePath": "/".join(parts), "fileSize": len(data), "mimeType": mime,
                "uploadedAt": datetime.fromtimestamp(now_ms / 1000, UTC).isoformat(timespec="milliseconds")
                .replace("+00:00", "Z")}

    def resolve(self, relative: str) -> Path | None:
        """The file at `relative`, if it exists, is inside the store and has not expired."""
        upload_path, _, name = relative.rpartition("/")
        try:
            target = self.root.joinpath(*safe_parts(upload_path, name)).resolve()
        except UploadRefused:
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


def upload_envelope(code: int, msg: str, data: Any = None, *, status: int) -> Response:
    body: dict[str, Any] = {"success": code == 200, "code": code, "msg": msg}
    if data is not None:
        body["data"] = data
    return Response(encode_json(body), status_code=status, media_type="application/json")


def local_file(url: str, *, origin: str, store: UploadStore, files_dir: Path | None) -> Path | None:
    """A file the mock can read offline for `url`: its own upload, or one under files_dir."""
    parts = urlsplit(url)
    if parts.scheme == "file" or (not parts.scheme and url.startswith("/")):
        if files_dir is None:
            return None
        path = Path(unquote(parts.path)).resolve()
        return path if path.is_relative_to(files_dir.resolve()) and path.is_file() else None
    own = f"{parts.scheme}://{parts.netloc}" == origin or is_loopback((parts.hostname or "").lower())
    if own and parts.path.startswith("/files/"):
        return store.resolve(unquote(parts.path.removeprefix("/files/")))
    return None


class UploadEndpoint:
    """One upload operation: authenticate, validate against the spec, store, answer."""

    def __init__(self, validator: RequestValidator, *, keys: KeyRing, store: UploadStore,
                 settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.validator = validator
        self.keys = keys
        self.store = store
        self.settings = settings
        self.files_dir = Path(settings.files_dir) if settings.files_dir else None
        self.transport = transport

    def status(self, code: int) -> int:
        return http_status(ApiError(code, ""), self.settings.status_policy)

    async def handle(self, request: Request) -> Response:
        origin = f"{request.url.scheme}://{request.headers.get('host') or request.url.netloc}"
        try:
            self.keys.authenticate(request.headers.get("authorization"))
        except ApiError as exc:
            return upload_envelope(401, exc.msg, status=self.status(401))
        try:
            fields, data = await self.read(request, origin)
            # Decoding the image and writing up to 10 MB: a worker thread, not the event loop.
            stored = await asyncio.to_thread(self.store.save, fields["uploadPath"], fields.get("fileName"), data)
        except RequestInvalid as exc:
            message = str(exc)
            if message.endswith(": is required"):
                message = f"Missing required parameter: {message.removesuffix(': is required')}"
            return upload_envelope(400, message, status=self.status(400))
        except (UploadRefused, ApiError) as exc:
            code = 400 if exc.code == 422 else exc.code
            return upload_envelope(code, exc.msg, status=self.status(code))
        stored["downloadUrl"] = f"{origin}/files/{quote(stored['filePath'])}"
        return upload_envelope(200, UPLOADED, stored, status=200)

    async def read(self, request: Request, origin: str) -> tuple[dict[str, Any], bytes]:
        """The validated fields and the file's bytes."""
        limit = self.store.max_file_bytes
        if self.validator.media_type == "multipart/form-data":
            require_media_type(request.headers.get("content-type", ""), "multipart/form-data")
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit + 64 * 1024:
                raise UploadRefused(400, f"file: over the {limit}-byte limit")
            try:
                form = await request.form(max_files=2, max_fields=MAX_FORM_FIELDS)
            except HTTPException as exc:  # Starlette's multipart parser: malformed or too many parts
                raise UploadRefused(400, f"multipart body: {exc.detail}") from exc
            fields: dict[str, Any] = {key: value for key, value in form.items() if isinstance(value, str)}
            upload = form.get("file")
            if isinstance(upload, UploadFile):
                fields["file"] = "<binary>"
            self.validator.check_body(fields)
            assert isinstance(upload, UploadFile)
            return fields, await upload.read(limit + 1)
        require_media_type(request.headers.get("content-type", ""), "application/json")
        body = parse_json(await read_body(request.receive, request.headers.get("content-length", ""),
                                          limit * 4 // 3 + 64 * 1024))
        self.validator.check_body(body)
        if "base64Data" in body:
            return body, decode_base64(body["base64Data"])
        return body, await self.fetch(body["fileUrl"], origin, limit)

    async def fetch(self, url: str, origin: str, limit: int) -> bytes:
        local = local_file(url, origin=origin, store=self.store, files_dir=self.files_dir)
        if local is not None:
            return await asyncio.to_thread(local.read_bytes)
        host = (urlsplit(url).hostname or "").lower()
        if urlsplit(url).scheme not in ("http", "https") or not is_loopback(host):
            raise UploadRefused(400, "fileUrl: this mock fetches only its own files, loopback URLs "
                                     "and files under files_dir (no network)")
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=FETCH_TIMEOUT_SECONDS) as client, \
                    client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise UploadRefused(400, f"fileUrl: answered HTTP {response.status_code}")
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise UploadRefused(400, f"file: over the {limit}-byte limit")
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise UploadRefused(400, f"fileUrl: could not be fetched ({type(exc).__name__})") from exc
        return b"".join(chunks)


def decode_base64(value: str) -> bytes:
    """Raw base64, or a `data:<mime>;base64,...` URL."""
    payload = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UploadRefused(400, "base64Data: not valid base64") from exc
