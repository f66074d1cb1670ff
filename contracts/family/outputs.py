"""What a createTask asks a model to make, read from its input the same way for every model:
the output kind (from the model page), frame size, duration, file format, and the field that
carries the source image. Shared by the mock (decided once at createTask and kept with the
task: what to render, how long to take, what to charge) and the contract run (what a result
must be).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.family.pages import ModelPage

# Input fields that carry the source image, in the order they are looked for.
IMAGE_FIELDS = ("image_url", "first_frame_url", "image_urls", "input_urls", "reference_image_urls", "image")
# The input fields that decide an output's shape: requests alike in these make the same kind,
# size, length and format.
SHAPE_FIELDS = ("resolution", "aspect_ratio", "ratio", "duration", "duration_seconds", "seconds", "length",
                "output_format", "image_size", "size")

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
    """What a task makes: decided once, at createTask, and kept with the task."""

    kind: str  # video | image | audio
    extension: str  # mp4 | png | jpeg | webp | wav
    width: int  # 0 for audio
    height: int
    seconds: int  # 0 for an image
    resolution: str = field(default="", compare=False)  # `720p`: the short side, as lifecycles and prices name sizes
    duration: str = field(default="", compare=False)  # the seconds, as a string (the price table's key)

    def __post_init__(self) -> None:
        object.__setattr__(self, "resolution", f"{min(self.width, self.height)}p")
        object.__setattr__(self, "duration", str(self.seconds))

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.extension]

    def encode(self) -> str:
        """As a store keeps it."""
        return json.dumps([self.kind, self.extension, self.width, self.height, self.seconds])

    @classmethod
    def decode(cls, text: str) -> OutputSpec:
        kind, extension, width, height, seconds = json.loads(text)
        return cls(kind, extension, width, height, seconds)


def output_for(page: ModelPage, given: Mapping[str, Any]) -> OutputSpec:
    """What `given` (a createTask `input`) asks `page`'s model to make."""
    return shaped(page, {**page.input_defaults, **given})


MAX_SHAPES = 1024  # per model: requests come in few shapes; a bound keeps odd clients cheap
MAX_SHAPE_VALUE = 64  # characters: a longer value is worked out each time, never kept as a key


class Outputs:
    """`output_for` worked out once per model and shape of request (the createTask hot path).
    Keys hold only short values of the page's shape fields; `clear()` forgets everything."""

    def __init__(self) -> None:
        self._fields: dict[str, tuple[str, ...]] = {}
        self._shapes: dict[str, dict[tuple[Any, ...], OutputSpec]] = {}

    def __call__(self, page: ModelPage, given: Mapping[str, Any]) -> OutputSpec:
        fields = self._fields.get(page.model_id)
        if fields is None:
            fields = self._fields[page.model_id] = tuple(name for name in SHAPE_FIELDS if name in page.input_fields)
        shape = tuple([given.get(name) for name in fields])
        shapes = self._shapes.setdefault(page.model_id, {})
        try:
            found = shapes.get(shape)
        except TypeError:  # an unhashable value (a list): worked out each time
            return output_for(page, given)
        if found is None:
            found = output_for(page, given)
            if all(_keyable(value) for value in shape):  # only short values become keys
                if len(shapes) >= MAX_SHAPES:
                    shapes.clear()
                shapes[shape] = found
        return found

    def clear(self) -> None:
        self._fields.clear()
        self._shapes.clear()


def _keyable(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float) or (
        isinstance(value, str) and len(value) <= MAX_SHAPE_VALUE)


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
