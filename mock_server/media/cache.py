"""Rendered results on disk by what they show (requests alike share a render), within a byte
budget (least recently used out). Rendering runs in a worker thread, once per key, a few at a
time.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from contracts.family.outputs import FRAMES, OutputSpec
from mock_server.media.audio import render_audio
from mock_server.media.still import render_image, variation
from mock_server.media.video import cover, render_mp4, test_card, zoomed

if TYPE_CHECKING:
    from PIL import Image

RENDER_CONCURRENCY = 2


class MediaCache:
    """Rendered results by key under `root`, within `max_bytes` (least recently used out)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, asyncio.Lock] = {}
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def path(self, key: str, extension: str = "mp4") -> Path:
        return self.root / f"{key}.{extension}"

    async def get(self, key: str, output: OutputSpec, load_image: Callable[[], Image.Image | None], *,
                  fallback: Callable[[], tuple[str, str]], variant: str = "") -> Path:
        """The cached render of `key` as `output` says (an MP4 video, a PNG/JPEG/WebP image,
        a WAV/MP3/Opus file; `variant`: the nth of a set, or a video's `first`/`last` frame as
        PNG), rendering it first (once, in a worker thread) if needed: `load_image` (reading
        and decoding the input) and `fallback` (the test card's prompt and label) run there too."""
        width, height, seconds = output.width, output.height, output.seconds
        extension = "png" if variant in FRAMES else output.extension
        name = f"{key}.{variant}" if variant else key
        target = self.path(name, extension)
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            if not target.exists():
                loop = asyncio.get_running_loop()  # one app may serve one test loop after another (in-process)
                if self._slots is None or self._slots[0] is not loop:
                    self._slots = (loop, asyncio.Semaphore(RENDER_CONCURRENCY))

                def render() -> None:
                    if output.kind == "audio" and variant not in FRAMES:  # an audio result's stills: its covers
                        render_audio(key + variant, seconds=seconds, extension=extension, target=target)
                        return
                    source = load_image() or test_card(width, height, *fallback())
                    if variant in FRAMES:
                        frame = cover(source, width, height) if variant == FRAMES[0] else zoomed(source, width, height)
                        render_image(frame, width=width, height=height, extension=extension, target=target)
                        return
                    source = variation(source, int(variant or 1))
                    if output.kind == "video":
                        render_mp4(source, width=width, height=height, seconds=seconds, target=target,
                                   sound=key if output.sound else None)
                    else:
                        render_image(source, width=width, height=height, extension=extension, target=target)

                async with self._slots[1]:
                    try:
                        await asyncio.to_thread(render)
                    except BaseException:  # a full disk, a broken source: nothing half-written stays
                        target.with_suffix(".partial").unlink(missing_ok=True)
                        raise
                self.evict(keep=target)
        self._locks.pop(name, None)
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
