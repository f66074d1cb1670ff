"""Result videos: real MP4s (H.264, yuv420p) rendered with PyAV, cached on disk.

A video is a slow zoom into the task's input image when the mock can read that image
offline (an upload to the mock, a `data:` URL, or a file under `files_dir`), else into a
test card showing the prompt and task id. Rendering runs in a worker thread, once per task,
a few at a time; the cache is bounded by evicting the least recently used renders.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: PyAV, numpy and Pillow cost 0.15 s at start-up
    from PIL import Image

FPS = 12  # a slow zoom needs few frames; 720p/5 s renders in about half a second
ZOOM = 1.15
RENDER_CONCURRENCY = 2


def frame_size(resolution: str) -> tuple[int, int]:
    """`720p` -> 1280x720, `1080p` -> 1920x1080 (16:9, even sizes for yuv420p)."""
    lines = int(resolution.rstrip("p"))
    return (lines * 16 // 9) // 2 * 2, lines // 2 * 2


def decode_data_url(url: str) -> bytes | None:
    header, _, payload = url.partition(",")
    if not header.startswith("data:") or ";base64" not in header:
        return None
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None


def open_image(data: bytes) -> Image.Image | None:
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return image.convert("RGB")


def test_card(width: int, height: int, prompt: str, task_id: str) -> Image.Image:
    from PIL import Image, ImageDraw, ImageFont

    card = Image.new("RGB", (width, height), (24, 28, 38))
    draw = ImageDraw.Draw(card)
    bars = [(192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0), (192, 0, 192), (192, 0, 0), (0, 0, 192)]
    bar_width = width // len(bars)
    for index, colour in enumerate(bars):
        draw.rectangle([index * bar_width, 0, (index + 1) * bar_width, height // 3], fill=colour)
    body_size = max(12, height // 30)
    title = ImageFont.load_default(size=max(16, height // 18))
    body = ImageFont.load_default(size=body_size)
    draw.text((width // 20, height // 3 + height // 20), "apikley-mock test card", font=title,
              fill=(255, 255, 255))
    draw.text((width // 20, height // 3 + height // 8), task_id, font=body, fill=(160, 200, 255))
    lines = textwrap.wrap(prompt, width=max(20, width // max(1, body_size // 2)))[:6]
    draw.multiline_text((width // 20, height // 3 + height // 5), "\n".join(lines), font=body,
                        fill=(230, 230, 230), spacing=body_size // 3)
    return card


def cover(image: Image.Image, width: int, height: int) -> Image.Image:
    """Scale and centre-crop so the image covers width x height."""
    from PIL import Image

    scale = max(width / image.width, height / image.height)
    resized = image.resize((max(width, round(image.width * scale)), max(height, round(image.height * scale))),
                           Image.Resampling.BILINEAR)
    left, top = (resized.width - width) // 2, (resized.height - height) // 2
    return resized.crop((left, top, left + width, top + height))


def render_mp4(image: Image.Image, *, width: int, height: int, seconds: int, target: Path) -> None:
    """Write an MP4 zooming slowly into `image`; atomically (a partial file never shows)."""
    import av
    import numpy as np

    source = np.asarray(cover(image, round(width * ZOOM) // 2 * 2, round(height * ZOOM) // 2 * 2))
    frames = FPS * seconds
    partial = target.with_suffix(".partial")
    with av.open(str(partial), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "28", "movflags": "+faststart"}
        for index in range(frames):
            progress = index / max(1, frames - 1)
            crop_w = round(source.shape[1] - (source.shape[1] - width) * progress) // 2 * 2
            crop_h = round(source.shape[0] - (source.shape[0] - height) * progress) // 2 * 2
            top, left = (source.shape[0] - crop_h) // 2, (source.shape[1] - crop_w) // 2
            window = np.ascontiguousarray(source[top:top + crop_h, left:left + crop_w])
            frame = av.VideoFrame.from_ndarray(window, format="rgb24").reformat(
                width=width, height=height, format="yuv420p")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    os.replace(partial, target)


class MediaCache:
    """Rendered videos by task id under `root`, within `max_bytes` (least recently used out)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, asyncio.Lock] = {}
        self._slots: asyncio.Semaphore | None = None

    def path(self, key: str) -> Path:
        return self.root / f"{key}.mp4"

    async def get(self, key: str, load_image: Callable[[], Image.Image | None], *, fallback: tuple[str, str],
                  width: int, height: int, seconds: int) -> Path:
        """The cached render of `key`, rendering it first (once, in a worker thread) if needed:
        `load_image` (reading and decoding the input) runs in that thread too."""
        target = self.path(key)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if not target.exists():
                if self._slots is None:
                    self._slots = asyncio.Semaphore(RENDER_CONCURRENCY)

                def render() -> None:
                    source = load_image() or test_card(width, height, *fallback)
                    render_mp4(source, width=width, height=height, seconds=seconds, target=target)

                async with self._slots:
                    await asyncio.to_thread(render)
                self.evict(keep=target)
        self._locks.pop(key, None)
        os.utime(target)  # recently used
        return target

    def evict(self, *, keep: Path | None = None) -> None:
        renders = sorted(self.root.glob("*.mp4"), key=lambda path: path.stat().st_mtime)
        total = sum(path.stat().st_size for path in renders)
        for path in renders:
            if total <= self.max_bytes:
                break
            if path != keep:
                total -= path.stat().st_size
                path.unlink(missing_ok=True)
