"""Images judged by their content (never by name), and decoded for rendering.

Pillow is imported where used, not at start-up.
"""

from __future__ import annotations

import base64
import binascii
import io
from pathlib import Path
from typing import TYPE_CHECKING

from mock_server.errors import IMAGE_TOO_LARGE, IMAGE_TYPE_REFUSED, NOT_AN_IMAGE, ApiError

if TYPE_CHECKING:
    from PIL import Image

# image_url accepts these (the seed says so in prose: "Accepted types: image/jpeg, image/png,
# image/webp"); Pillow's names for them.
IMAGE_TYPES = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
# Decoded, an image costs 3-4 bytes a pixel, and its renders more: a small file can hold a huge
# image (a 13000x13000 PNG of one colour is 160 KiB). Larger ones are refused, never decoded.
MAX_PIXELS = 40_000_000


def sniff_image(data: bytes) -> tuple[str, str]:
    """(mime type, extension) of a JPEG, PNG or WebP image, judged by its content."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, (width, height) = image.format or "", image.size
            if width * height > MAX_PIXELS:
                raise ApiError(400, IMAGE_TOO_LARGE.format(width=width, height=height, limit=MAX_PIXELS))
            image.verify()
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        raise ApiError(400, NOT_AN_IMAGE) from exc
    if kind not in IMAGE_TYPES:
        raise ApiError(400, IMAGE_TYPE_REFUSED.format(kind=kind or "unknown"))
    return IMAGE_TYPES[kind]


def image_type(path: Path) -> str:
    """The stored image's MIME type, from its header (Pillow reads no more than that)."""
    from PIL import Image

    with Image.open(path) as image:
        return IMAGE_TYPES.get(image.format or "", ("application/octet-stream", ""))[0]


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
        if image.size[0] * image.size[1] > MAX_PIXELS:
            return None  # the render uses a test card instead
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return image.convert("RGB")
