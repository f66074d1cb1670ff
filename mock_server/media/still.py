"""Result images (PNG, JPEG or WebP) for image models: the input image, or a test card,
covering the requested size; written atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from mock_server.media.video import cover

if TYPE_CHECKING:
    from PIL import Image

PILLOW_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def render_image(image: Image.Image, *, width: int, height: int, extension: str, target: Path) -> None:
    partial = target.with_suffix(".partial")
    cover(image.convert("RGB"), width, height).save(partial, format=PILLOW_FORMATS[extension])
    os.replace(partial, target)
