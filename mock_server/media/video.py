"""Result videos: real MP4s (H.264, yuv420p) rendered with PyAV.

A video is a slow zoom into the task's input image when the mock can read that image
offline, else into a test card showing the prompt and the model.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: PyAV, numpy and Pillow cost 0.15 s at start-up
    from PIL import Image

FPS = 12  # a slow zoom needs few frames; 720p/5 s renders in about half a second
ZOOM = 1.15


def test_card(width: int, height: int, prompt: str, label: str) -> Image.Image:
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
    draw.text((width // 20, height // 3 + height // 8), label, font=body, fill=(160, 200, 255))
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


def zoomed(image: Image.Image, width: int, height: int) -> Image.Image:
    """The video's last frame: the centre of `image` at the end of the zoom."""
    source = cover(image, round(width * ZOOM) // 2 * 2, round(height * ZOOM) // 2 * 2)
    left, top = (source.width - width) // 2, (source.height - height) // 2
    return source.crop((left, top, left + width, top + height))


def render_mp4(image: Image.Image, *, width: int, height: int, seconds: int, target: Path,
               sound: str | None = None) -> None:
    """Write an MP4 zooming slowly into `image`, with a sound track (the chord of `sound`)
    when given; atomically (a partial file never shows)."""
    import av
    import numpy as np

    from mock_server.media.audio import TRACK_RATES, chord, write_track

    source = np.asarray(cover(image, round(width * ZOOM) // 2 * 2, round(height * ZOOM) // 2 * 2))
    frames = FPS * seconds
    partial = target.with_suffix(".partial")
    with av.open(str(partial), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "28", "movflags": "+faststart"}
        # Every stream is added before the first packet is written.
        track = container.add_stream("aac", rate=TRACK_RATES["aac"], layout="mono") if sound else None
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
        if track is not None and sound is not None:
            write_track(container, track, chord(sound, seconds, TRACK_RATES["aac"]), TRACK_RATES["aac"])
    os.replace(partial, target)
