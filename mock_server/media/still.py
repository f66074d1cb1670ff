"""Result images (PNG, JPEG or WebP) for image models, and the still frames of videos: the
input image, or a test card, covering the requested size; written atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from mock_server.media.video import cover

if TYPE_CHECKING:
    from PIL import Image

PILLOW_FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}


def variation(image: Image.Image, index: int) -> Image.Image:
    """The `index`th (from 2) of a set of results: mirrored or flipped, so each file differs."""
    from PIL import ImageOps

    if index < 2:
        return image
    return ImageOps.mirror(image) if index % 2 == 0 else ImageOps.flip(image)


def render_image(image: Image.Image, *, width: int, height: int, extension: str, target: Path) -> None:
    partial = target.with_suffix(".partial")
    cover(image.convert("RGB"), width, height).save(partial, format=PILLOW_FORMATS[extension])
    os.replace(partial, target)
