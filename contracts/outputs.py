"""What a createTask asks a model to make, read from its input the same way for every model:
the output kind (from the model page), frame size, duration, file format, and the field that
carries the source image. Shared by the mock (what to render, how long to take, what to charge)
and the contract run (what a result must be).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts.models import IMAGE_FIELDS, ModelPage

VIDEO_DEFAULT_LINES = 720
VIDEO_DEFAULT_SECONDS = 5
AUDIO_DEFAULT_SECONDS = 10
IMAGE_LONG_SIDE = 1024
MAX_SECONDS = 60
IMAGE_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "webp": "webp"}
MEDIA_TYPES = {"mp4": "video/mp4", "png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp",
               "wav": "audio/wav"}
NAMED_IMAGE_SIZES = {"square_hd": (1024, 1024), "square": (512, 512), "portrait_4_3": (768, 1024),
                     "portrait_16_9": (576, 1024), "landscape_4_3": (1024, 768), "landscape_16_9": (1024, 576)}


@dataclass(frozen=True)
class OutputSpec:
    kind: str  # video | image | audio
    extension: str  # mp4 | png | jpeg | webp | wav
    width: int  # 0 for audio
    height: int
    seconds: int  # 0 for an image
    resolution: str = ""  # `720p`: the short side, as the lifecycle and the price table name sizes
    duration: str = ""  # the seconds, as a string (the price table's key)

    def __post_init__(self) -> None:
        object.__setattr__(self, "resolution", f"{min(self.width, self.height)}p")
        object.__setattr__(self, "duration", str(self.seconds))

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.extension]


MAX_SHAPES = 1024  # per model: requests come in few shapes; a bound keeps odd clients cheap


def output_for(page: ModelPage, given: Mapping[str, Any]) -> OutputSpec:
    """What `given` (a createTask `input`) asks `page`'s model to make. On the createTask path:
    worked out once per shape of request and model."""
    shape = tuple([given.get(name) for name in page.shape_fields])
    try:
        found: OutputSpec | None = page.shapes.get(shape)
    except TypeError:  # an unhashable value (say, a list): work it out without the cache
        return shaped(page, {**page.input_defaults, **given})
    if found is None:
        if len(page.shapes) >= MAX_SHAPES:
            page.shapes.clear()
        found = page.shapes[shape] = shaped(page, {**page.input_defaults, **given})
    return found


def shaped(page: ModelPage, values: Mapping[str, Any]) -> OutputSpec:
    if page.output == "audio":
        return OutputSpec("audio", "wav", 0, 0, seconds_of(values, AUDIO_DEFAULT_SECONDS))
    ratio = aspect_ratio(values)
    if page.output == "image":
        width, height = image_size(values, ratio)
        extension = IMAGE_FORMATS.get(str(values.get("output_format", "png")).lower(), "png")
        return OutputSpec("image", extension, width, height, 0)
    lines = VIDEO_DEFAULT_LINES
    if isinstance(values.get("resolution"), str) and re.fullmatch(r"\d{3,4}p", values["resolution"]):
        lines = int(values["resolution"][:-1])
    width, height = short_side_frame(lines, ratio)
    return OutputSpec("video", "mp4", width, height, seconds_of(values, VIDEO_DEFAULT_SECONDS))


def source_image(page: ModelPage, given: Mapping[str, Any]) -> str | None:
    """The source image a request names, in whichever field its model takes it."""
    values = {**page.input_defaults, **given}
    for name in IMAGE_FIELDS:
        value = values.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str) and value:
            return value
    return None


def seconds_of(values: Mapping[str, Any], default: int) -> int:
    for name in ("duration", "duration_seconds", "seconds", "length"):
        value = values.get(name)
        if isinstance(value, bool):
            continue
        try:
            number = float(value) if value is not None else None
        except (TypeError, ValueError):
            number = None
        if number is not None and number > 0:
            return max(1, min(MAX_SECONDS, round(number)))
    return default


def aspect_ratio(values: Mapping[str, Any]) -> float:
    for name in ("aspect_ratio", "ratio"):
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)", str(values.get(name, "")))
        if match and float(match.group(2)) > 0 and float(match.group(1)) > 0:
            return min(4.0, max(0.25, float(match.group(1)) / float(match.group(2))))
    return 16 / 9


def short_side_frame(lines: int, ratio: float) -> tuple[int, int]:
    """Even sizes (yuv420p) with the short side `lines`: 720p 16:9 -> 1280x720, 9:16 -> 720x1280."""
    if ratio >= 1:
        return round(lines * ratio / 2) * 2, lines // 2 * 2
    return lines // 2 * 2, round(lines / ratio / 2) * 2


def image_size(values: Mapping[str, Any], ratio: float) -> tuple[int, int]:
    size = values.get("image_size", values.get("size"))
    if isinstance(size, str):
        if size in NAMED_IMAGE_SIZES:
            return NAMED_IMAGE_SIZES[size]
        match = re.fullmatch(r"(\d{2,4})\s*[x*]\s*(\d{2,4})", size)
        if match:
            return min(4096, int(match.group(1))), min(4096, int(match.group(2)))
    if "aspect_ratio" not in values and "ratio" not in values:
        ratio = 1.0
    if ratio >= 1:
        return IMAGE_LONG_SIDE, round(IMAGE_LONG_SIDE / ratio)
    return round(IMAGE_LONG_SIDE * ratio), IMAGE_LONG_SIDE
