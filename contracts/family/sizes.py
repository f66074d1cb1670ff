"""How the family's input fields name an output's size, length, format and count, read the
same way for every model (no code per model): `resolution` `1K`/`2K`/`4K` or `720p`,
`image_size` presets or ratios, `aspect_ratio` (`auto` included), `duration` as a number or
a string, `output_format` (`jpg`, `mp3_44100_128` ...), `num_images`/`n`/`max_images`.
Pure functions of a request's values; `outputs` puts them together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

VIDEO_DEFAULT_LINES = 720
VIDEO_DEFAULT_SECONDS = 5
AUDIO_DEFAULT_SECONDS = 10
IMAGE_LONG_SIDE = 1024
MAX_SECONDS = 60
MAX_RESULTS = 10  # files per task, whatever a request asks
MAX_LINES = 2160
# Image size classes on the long side: `resolution` / `image_resolution` 1K, 2K, 4K.
IMAGE_CLASSES = {"1k": 1024, "2k": 2048, "4k": 4096}
VIDEO_CLASSES = {"4k": 2160, "2k": 1440}  # video resolutions published as `4k` beside `1080p`
IMAGE_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpg", "webp": "webp"}
AUDIO_FORMATS = (("mp3", "mp3"), ("opus", "opus"), ("wav", "wav"), ("pcm", "wav"), ("ulaw", "wav"))
NAMED_IMAGE_SIZES = {"square_hd": (1024, 1024), "square": (512, 512), "portrait_4_3": (768, 1024),
                     "portrait_3_2": (683, 1024), "portrait_16_9": (576, 1024), "landscape_4_3": (1024, 768),
                     "landscape_3_2": (1024, 683), "landscape_16_9": (1024, 576), "landscape_21_9": (1024, 439)}
RATIO = re.compile(r"(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)")
SOUND_FIELDS = ("generate_audio", "sound", "audio", "generate_audio_switch")
COUNT_FIELDS = ("num_images", "n", "max_images", "num_outputs")


def number(value: Any) -> float | None:
    """A positive number given as a number or a string ("5", "5.0"), else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        found = float(value)
    except (TypeError, ValueError):
        return None
    return found if found > 0 and found < 1e9 else None


def seconds_of(values: Mapping[str, Any], default: int) -> int:
    for name in ("duration", "duration_seconds", "seconds", "length"):
        found = number(values.get(name))
        if found is not None:
            return max(1, min(MAX_SECONDS, round(found)))
    return default


def aspect_ratio(values: Mapping[str, Any], default: float) -> float:
    """`aspect_ratio` or `ratio` as width / height; `auto` (or none) is `default`."""
    for name in ("aspect_ratio", "ratio"):
        match = RATIO.fullmatch(str(values.get(name, "")))
        if match and float(match.group(2)) > 0 and float(match.group(1)) > 0:
            return min(4.0, max(0.25, float(match.group(1)) / float(match.group(2))))
    return default


def video_lines(values: Mapping[str, Any]) -> int:
    """The short side a video request names: `resolution`/`quality`/`output_resolution` as
    `720p`, `1080`, `4k`."""
    for name in ("resolution", "quality", "output_resolution"):
        value = str(values.get(name, "")).lower()
        if value in VIDEO_CLASSES:
            return VIDEO_CLASSES[value]
        match = re.fullmatch(r"(\d{3,4})p?", value)
        if match and 144 <= int(match.group(1)) <= MAX_LINES:
            return int(match.group(1))
    return VIDEO_DEFAULT_LINES


def short_side_frame(lines: int, ratio: float) -> tuple[int, int]:
    """Even sizes (yuv420p) with the short side `lines`: 720p 16:9 -> 1280x720, 9:16 -> 720x1280."""
    if ratio >= 1:
        return round(lines * ratio / 2) * 2, lines // 2 * 2
    return lines // 2 * 2, round(lines / ratio / 2) * 2


def image_size(values: Mapping[str, Any]) -> tuple[int, int]:
    """An image's size: a named preset or `WxH` in `image_size`/`size`, else the long side of
    the size class (`resolution` 1K/2K/4K) at the aspect ratio (square when none is named)."""
    size = values.get("image_size", values.get("size"))
    ratio = aspect_ratio(values, 1.0)
    if isinstance(size, str):
        if size in NAMED_IMAGE_SIZES:
            return NAMED_IMAGE_SIZES[size]
        match = re.fullmatch(r"(\d{2,4})\s*[x*]\s*(\d{2,4})", size)
        if match:
            return min(4096, int(match.group(1))), min(4096, int(match.group(2)))
        ratio = aspect_ratio({"aspect_ratio": size}, ratio)  # image_size given as a ratio ("16:9")
    long_side = next((IMAGE_CLASSES[str(values[name]).lower()] for name in ("resolution", "image_resolution")
                      if str(values.get(name, "")).lower() in IMAGE_CLASSES), IMAGE_LONG_SIDE)
    if ratio >= 1:
        return long_side, max(1, round(long_side / ratio))
    return max(1, round(long_side * ratio)), long_side


def image_format(values: Mapping[str, Any]) -> str:
    return IMAGE_FORMATS.get(str(values.get("output_format", "png")).lower(), "png")


def audio_format(values: Mapping[str, Any]) -> str:
    """`mp3_44100_128` -> mp3, `opus_48000_64` -> opus, `pcm_16000` -> wav; wav when none."""
    given = str(values.get("output_format", "wav")).lower()
    return next((extension for prefix, extension in AUDIO_FORMATS if given.startswith(prefix)), "wav")


def result_count(values: Mapping[str, Any], fixed: int | None) -> int:
    """How many files a task makes: a set the model always returns, else what the request
    asks (`num_images`, `n`, `max_images`), one by default; at most MAX_RESULTS."""
    if fixed:
        return max(1, min(MAX_RESULTS, fixed))
    for name in COUNT_FIELDS:
        found = number(values.get(name))
        if found is not None:
            return max(1, min(MAX_RESULTS, int(found)))
    return 1


def with_sound(values: Mapping[str, Any]) -> bool:
    """Whether a video request asks for a sound track (`generate_audio`, `sound` ... true)."""
    return any(values.get(name) is True for name in SOUND_FIELDS)
