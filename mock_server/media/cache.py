"""Rendered results by task id on disk, within a byte budget (least recently used out).

Rendering runs in a worker thread, once per task, a few at a time.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from contracts.family.outputs import OutputSpec
from mock_server.media.audio import render_wav
from mock_server.media.still import render_image
from mock_server.media.video import render_mp4, test_card

if TYPE_CHECKING:
    from PIL import Image

RENDER_CONCURRENCY = 2


class MediaCache:
    """Rendered results by task id under `root`, within `max_bytes` (least recently used out)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, asyncio.Lock] = {}
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def path(self, key: str, extension: str = "mp4") -> Path:
        return self.root / f"{key}.{extension}"

    async def get(self, key: str, output: OutputSpec, load_image: Callable[[], Image.Image | None], *,
                  fallback: Callable[[], tuple[str, str]]) -> Path:
        """The cached render of `key` as `output` says (an MP4 video, a PNG/JPEG/WebP image or
        a WAV), rendering it first (once, in a worker thread) if needed: `load_image` (reading
        and decoding the input) and `fallback` (the test card's prompt and id) run there too."""
        width, height, seconds, extension = output.width, output.height, output.seconds, output.extension
        target = self.path(key, extension)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if not target.exists():
                loop = asyncio.get_running_loop()  # one app may serve one test loop after another (in-process)
                if self._slots is None or self._slots[0] is not loop:
                    self._slots = (loop, asyncio.Semaphore(RENDER_CONCURRENCY))

                def render() -> None:
                    if extension == "wav":
                        render_wav(key, seconds=seconds, target=target)
                        return
                    source = load_image() or test_card(width, height, *fallback())
                    if extension == "mp4":
                        render_mp4(source, width=width, height=height, seconds=seconds, target=target)
                    else:
                        render_image(source, width=width, height=height, extension=extension, target=target)

                async with self._slots[1]:
                    try:
                        await asyncio.to_thread(render)
                    except BaseException:  # a full disk, a broken source: nothing half-written stays
                        target.with_suffix(".partial").unlink(missing_ok=True)
                        raise
                self.evict(keep=target)
        self._locks.pop(key, None)
        os.utime(target)  # recently used
        return target

    def evict(self, *, keep: Path | None = None) -> None:
        renders = sorted((path for path in self.root.iterdir() if path.suffix != ".partial"),
                         key=lambda path: path.stat().st_mtime)
        total = sum(path.stat().st_size for path in renders)
        for path in renders:
            if total <= self.max_bytes:
                break
            if path != keep:
                total -= path.stat().st_size
                path.unlink(missing_ok=True)
