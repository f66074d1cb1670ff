"""The mock's file host: result videos at `/results/<taskId>.mp4` and uploads at `/files/...`.

Like the real file host it answers plain HTTP (no API key, no status policy): 200/206 with
the file, range requests included, or a 404 once a file is gone or has expired. Temporary
links from download-url carry `expires` and `token` query parameters.
"""

from __future__ import annotations

import asyncio
import hmac
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from mock_server.backend import Backend
from mock_server.http import envelope
from mock_server.media import MediaCache, decode_data_url, frame_size, open_image
from mock_server.store import Task
from mock_server.uploads import UploadStore, image_type, local_file

if TYPE_CHECKING:
    from PIL.Image import Image

GONE = "Not found: {path} does not exist or has expired"


class FileHost:
    def __init__(self, backend: Backend, media: MediaCache, uploads: UploadStore) -> None:
        self.backend = backend
        self.media = media
        self.uploads = uploads
        settings = backend.settings
        self.files_dir = Path(settings.files_dir) if settings.files_dir else None

    def input_image(self, task: Task, image_url: object) -> Image | None:
        if not isinstance(image_url, str):
            return None
        if image_url.startswith("data:"):
            data = decode_data_url(image_url)
            return open_image(data) if data is not None else None
        path = local_file(image_url, origin=task.origin, store=self.uploads, files_dir=self.files_dir)
        return open_image(path.read_bytes()) if path is not None else None

    async def result(self, request: Request) -> Response:
        task_id = request.path_params["task_id"]
        task = self.backend.store.get(task_id)
        now = self.backend.clock.now_ms()
        gone = envelope(404, GONE.format(path=request.url.path), status=404)
        if task is None or not self.backend.result_available(task):
            return gone
        expires, token = request.query_params.get("expires"), request.query_params.get("token")
        if expires is not None or token is not None:
            valid = (expires or "").isdigit() and hmac.compare_digest(
                token or "", self.backend.link_token(task_id, int(expires or 0)))
            if not valid or now > int(expires or 0):
                return gone
        given = orjson.loads(task.param).get("input", {})
        width, height = frame_size(task.resolution)
        path = await self.media.get(task_id, lambda: self.input_image(task, given.get("image_url")),
                                    fallback=(str(given.get("prompt", "")), task_id), width=width,
                                    height=height, seconds=int(task.duration))
        return FileResponse(path, media_type="video/mp4")

    async def file(self, request: Request) -> Response:
        path = self.uploads.resolve(request.path_params["path"])
        if path is None:
            return envelope(404, GONE.format(path=request.url.path), status=404)
        mime = await asyncio.to_thread(image_type, path)
        return FileResponse(path, media_type=mime)

    def routes(self) -> list[Route]:
        return [Route("/results/{task_id}.mp4", self.result, methods=["GET"]),
                Route("/files/{path:path}", self.file, methods=["GET"])]
