"""What a createTask asks a model to make, read from its input the same way for every model:
the output kind (from the model page), frame size, duration, file format, and the field that
carries the source image. Shared by the mock (decided once at createTask and kept with the
task: what to render, how long to take, what to charge) and the contract run (what a result
must be).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.family.pages import ModelPage
from contracts.family.sizes import (
    AUDIO_DEFAULT_SECONDS,
    COUNT_FIELDS,
    SOUND_FIELDS,
    VIDEO_DEFAULT_SECONDS,
    aspect_ratio,
    audio_format,
    image_format,
    image_size,
    result_count,
    seconds_of,
    short_side_frame,
    video_lines,
    with_sound,
)

# Input fields that carry the source image, in the order they are looked for.
IMAGE_FIELDS = ("image_url", "first_frame_url", "image_urls", "input_urls", "image_input", "reference_image_urls",
                "image", "first_frame_image_url", "reference_image")
# The input fields that decide an output's shape: requests alike in these make the same kind,
# size, length, format, count and sound.
SHAPE_FIELDS = ("resolution", "image_resolution", "output_resolution", "quality", "aspect_ratio", "ratio",
                "duration", "duration_seconds", "seconds", "length", "output_format", "image_size", "size",
                *COUNT_FIELDS, *SOUND_FIELDS, "return_last_frame")
MEDIA_TYPES = {"mp4": "video/mp4", "png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg",
               "webp": "image/webp", "wav": "audio/wav", "mp3": "audio/mpeg", "opus": "audio/ogg",
               "json": "application/json"}
FRAMES = ("first", "last")  # the still frames a video task may return beside it (`return_last_frame`)


@dataclass(frozen=True)
class OutputSpec:
    """What a task makes: decided once, at createTask, and kept with the task."""

    kind: str  # video | image | audio | text
    extension: str  # mp4 | png | jpeg | jpg | webp | wav | mp3 | opus | json (text: no file)
    width: int  # 0 for audio and text
    height: int
    seconds: int  # 0 for an image
    count: int = 1  # files a task makes (`num_images`, a set the model always returns)
    sound: bool = False  # a video with a sound track
    frames: bool = False  # a video with its first and last frames beside it (`return_last_frame`)
    resolution: str = field(default="", compare=False)  # `720p`: the short side, as lifecycles and prices name sizes
    duration: str = field(default="", compare=False)  # the seconds, as a string (the price table's key)

    def __post_init__(self) -> None:
        object.__setattr__(self, "resolution", f"{min(self.width, self.height)}p")
        object.__setattr__(self, "duration", str(self.seconds))

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.extension]

    @property
    def files(self) -> bool:
        return self.kind != "text"

    def variants(self) -> list[str]:
        """The names of a task's files besides its first ("" is the first): `2` ... `count`,
        and `first`/`last` frames."""
        return ["", *(str(index) for index in range(2, self.count + 1)), *(FRAMES if self.frames else ())]

    def encode(self) -> str:
        """As a store keeps it."""
        return json.dumps([self.kind, self.extension, self.width, self.height, self.seconds, self.count,
                           self.sound, self.frames])

    @classmethod
    def decode(cls, text: str) -> OutputSpec:
        return cls(*json.loads(text))  # rows of older versions hold the first five only


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
    count = result_count(values, page.results)
    if page.output == "text":
        return OutputSpec("text", "json", 0, 0, 0)
    if page.output == "audio":
        return OutputSpec("audio", audio_format(values), 0, 0, seconds_of(values, AUDIO_DEFAULT_SECONDS), count)
    if page.output == "image":
        width, height = image_size(values)
        return OutputSpec("image", image_format(values), width, height, 0, count)
    width, height = short_side_frame(video_lines(values), aspect_ratio(values, 16 / 9))
    return OutputSpec("video", "mp4", width, height, seconds_of(values, VIDEO_DEFAULT_SECONDS), count,
                      with_sound(values), values.get("return_last_frame") is True)


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
