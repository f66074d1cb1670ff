"""The mock's file host: result videos at `/results/<taskId>.mp4` and uploads at `/files/...`.

Like the real file host it answers plain HTTP (no API key, no status policy): 200/206 with
the file, range requests included, or a 404 once a file is gone or has expired. Temporary
links from download-url carry `expires` and `token` query parameters.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from contracts.family.outputs import FRAMES, source_image
from mock_server.errors import GONE, RENDER_FAILED, ApiError
from mock_server.http.origin import request_origin
from mock_server.http.render import Renderer
from mock_server.media.images import decode_data_url, image_type, open_image
from mock_server.services import Services
from mock_server.services.replay import REPLAY_PREFIX
from mock_server.sim.task import Task
from mock_server.urls import FILE_ROUTE, RESULT_ROUTE, UPLOAD_FILE_HOST

if TYPE_CHECKING:
    from PIL.Image import Image

RENDERER = Renderer("mirror")  # plain HTTP: a 404 is a real 404
LOG = logging.getLogger("apikley_mock.files")


class FileHost:
    def __init__(self, services: Services) -> None:
        self.links = services.links
        self.media = services.media
        self.files = services.files
        self.catalogue = services.catalogue
        self.replay = services.replay

    def input_image(self, task: Task, request_origin: str) -> Image | None:
        """The task's source image, when the mock can read it offline (a data: URL, an upload,
        a file under files_dir): read from its request only when a render needs it."""
        image_url = source_image(self.catalogue.page(task.model), orjson.loads(task.param).get("input", {}))
        if not isinstance(image_url, str):
            return None
        if image_url.startswith("data:"):
            data = decode_data_url(image_url)
            return open_image(data) if data is not None else None
        # An upload's downloadUrl may name the family's upload file host (a client of a family host).
        path = self.files.find(image_url, own=(task.origin, request_origin, f"https://{UPLOAD_FILE_HOST}"))
        return open_image(path.read_bytes()) if path is not None else None

    def render_key(self, task: Task) -> str:
        """What a render shows: tasks asking the same model the same thing share one."""
        given = orjson.loads(task.param).get("input", {})
        shown = (task.model, task.output.encode(), source_image(self.catalogue.page(task.model), given),
                 str(given.get("prompt", "")) if isinstance(given, dict) else "")
        return hashlib.blake2b(orjson.dumps(shown), digest_size=12).hexdigest()

    async def result(self, request: Request) -> Response:
        """`<taskId>.<ext>`, or `<taskId>.<variant>.<ext>` for the rest of a set of results and
        a video's still frames (`OutputSpec.variants`)."""
        stem, _, extension = request.path_params["name"].rpartition(".")
        task_id, _, variant = stem.partition(".")
        task = self.links.servable(request.path_params["token"], task_id, request.query_params.get("expires"),
                                   request.query_params.get("token"))
        if task is None or not task.output.files or variant not in task.output.variants() or \
                extension != ("png" if variant in FRAMES else task.output.extension):
            return RENDERER.response(ApiError(404, GONE.format(path=request.url.path)))
        origin = request_origin(request.scope)
        try:
            path = await self.media.get(self.render_key(task), task.output, lambda: self.input_image(task, origin),
                                        fallback=lambda: (prompt_of(task), task.model), variant=variant)
        except OSError as exc:  # the disk is full, or will not take the file: said, nothing half-written kept
            LOG.warning("rendering %s failed: %s", task_id, exc)
            return RENDERER.response(ApiError(503, RENDER_FAILED.format(reason=exc.strerror or type(exc).__name__)))
        return FileResponse(path, media_type="image/png" if variant in FRAMES else task.output.media_type)

    async def file(self, request: Request) -> Response:
        path = self.files.uploads.resolve(request.path_params["path"])
        if path is None:
            return RENDERER.response(ApiError(404, GONE.format(path=request.url.path)))
        return FileResponse(path, media_type=await asyncio.to_thread(image_type, path))


    async def replayed(self, request: Request) -> Response:
        """A result file the proxy saved beside its recording (`serve --replay`)."""
        found = self.replay.result_file(request.path_params["task_id"], request.path_params["name"]) \
            if self.replay is not None else None
        if found is None:
            return RENDERER.response(ApiError(404, GONE.format(path=request.url.path)))
        return FileResponse(found)


def prompt_of(task: Task) -> str:
    """What the test card shows of the task's request."""
    return str(orjson.loads(task.param).get("input", {}).get("prompt", ""))


def file_routes(services: Services) -> list[Route]:
    host = FileHost(services)
    return [Route(RESULT_ROUTE, host.result, methods=["GET"]), Route(FILE_ROUTE, host.file, methods=["GET"]),
            Route(REPLAY_PREFIX + "{task_id}/{name}", host.replayed, methods=["GET"])]
