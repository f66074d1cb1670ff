"""A result file as its model promises it: a playable MP4 of the asked frame size and length
(with a sound track when asked), an image of the asked format and size, or a playable audio
file (WAV, MP3, Opus) of the asked length."""

from __future__ import annotations

import io
import wave

from contracts.checks.verdicts import CheckFailed
from contracts.family.outputs import OutputSpec

PIL_FORMATS = {"jpg": "jpeg"}  # an extension -> what Pillow calls the format


def media_rules(content_type: str, content: bytes, expected: OutputSpec) -> None:
    given = content_type.split(";")[0].strip()
    if given != expected.media_type:
        raise CheckFailed(f"Content-Type {expected.media_type}", content_type or "none")
    if expected.kind == "video":
        video_rules(content, expected)
    elif expected.kind == "image":
        image_rules(content, expected)
    else:
        audio_rules(content, expected)


def video_rules(content: bytes, expected: OutputSpec) -> None:
    import av

    try:
        with av.open(io.BytesIO(content), mode="r") as container:
            stream = container.streams.video[0]
            size = (stream.width, stream.height)
            seconds = float(container.duration or 0) / av.time_base
            sound = bool(container.streams.audio)
    except (av.FFmpegError, IndexError) as exc:
        raise CheckFailed("a playable MP4 with a video stream", f"{type(exc).__name__}: {exc}") from exc
    if min(size) != min(expected.width, expected.height):
        raise CheckFailed(f"a {expected.resolution} video", f"{size[0]}x{size[1]}")
    if abs(seconds - expected.seconds) > 0.5:
        raise CheckFailed(f"a {expected.seconds} s video", f"{seconds:.2f} s")
    if expected.sound and not sound:
        raise CheckFailed("a video with a sound track (asked for sound)", "no audio stream")


def image_rules(content: bytes, expected: OutputSpec) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as image:
            kind, size = (image.format or "").lower(), image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise CheckFailed(f"a {expected.extension.upper()} image", f"{type(exc).__name__}: {exc}") from exc
    if kind != PIL_FORMATS.get(expected.extension, expected.extension):
        raise CheckFailed(f"a {expected.extension.upper()} image", kind.upper() or "unknown")
    if size != (expected.width, expected.height):
        raise CheckFailed(f"a {expected.width}x{expected.height} image", f"{size[0]}x{size[1]}")


def audio_rules(content: bytes, expected: OutputSpec) -> None:
    if expected.extension != "wav":
        import av

        try:
            with av.open(io.BytesIO(content), mode="r") as container:
                if not container.streams.audio:
                    raise CheckFailed(f"a playable {expected.extension.upper()} file", "no audio stream")
                seconds = float(container.duration or 0) / av.time_base
        except av.FFmpegError as exc:
            raise CheckFailed(f"a playable {expected.extension.upper()} file", f"{type(exc).__name__}: {exc}") from exc
    else:
        try:
            with wave.open(io.BytesIO(content)) as sound:
                seconds = sound.getnframes() / sound.getframerate()
        except (wave.Error, EOFError) as exc:
            raise CheckFailed("a playable WAV file", f"{type(exc).__name__}: {exc}") from exc
    if abs(seconds - expected.seconds) > 0.5:
        raise CheckFailed(f"{expected.seconds} s of audio", f"{seconds:.2f} s")
