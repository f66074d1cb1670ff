"""Result audio for audio models, and the sound track of videos asked for with sound: a soft
chord whose notes come from the render's key (so each request sounds different, and the same
request the same), as a 16-bit WAV, an MP3 or an Opus file (PyAV); written atomically."""

from __future__ import annotations

import hashlib
import math
import os
import wave
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 22_050
TRACK_RATES = {"mp3": 44_100, "opus": 48_000, "aac": 44_100}
CODECS = {"mp3": ("mp3", "libmp3lame"), "opus": ("ogg", "libopus")}  # extension -> container, encoder
NOTES_HZ = (220.0, 261.63, 293.66, 329.63, 392.0, 440.0)


def chord(key: str, seconds: int, rate: int) -> np.ndarray[Any, Any]:
    """`seconds` of the key's chord as float32 samples in [-0.3, 0.3], faded in and out."""
    import numpy as np

    digest = hashlib.blake2b(key.encode(), digest_size=3).digest()
    tones = [NOTES_HZ[byte % len(NOTES_HZ)] * (1 + index) for index, byte in enumerate(digest)]
    time = np.arange(seconds * rate) / rate
    signal = sum(np.sin(2 * math.pi * tone * time) for tone in tones) / len(tones)
    fade = np.minimum(1.0, np.minimum(time, seconds - time) / 0.05)  # no clicks at either end
    return (signal * fade * 0.3).astype(np.float32)


def write_track(container: Any, stream: Any, samples: np.ndarray[Any, Any], rate: int) -> None:
    """Encode mono float samples into `stream` of an open PyAV container, in the encoder's format."""
    import av

    resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=rate)
    size = stream.codec_context.frame_size or 1024
    frames = []
    for start in range(0, len(samples), size):
        frame = av.AudioFrame.from_ndarray(samples[start:start + size].reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, start
        frames.extend(resampler.resample(frame))
    frames.extend(resampler.resample(None))
    for packet in [packet for frame in frames for packet in stream.encode(frame)] + list(stream.encode(None)):
        container.mux(packet)


def render_audio(key: str, *, seconds: int, extension: str, target: Path) -> None:
    partial = target.with_suffix(".partial")
    if extension in CODECS:
        import av

        container_format, codec = CODECS[extension]
        rate = TRACK_RATES[extension]
        with av.open(str(partial), mode="w", format=container_format) as container:
            write_track(container, container.add_stream(codec, rate=rate, layout="mono"), chord(key, seconds, rate),
                        rate)
    else:
        samples = (chord(key, seconds, SAMPLE_RATE) * 32767).astype("<i2")
        with wave.open(str(partial), "wb") as sink:
            sink.setnchannels(1)
            sink.setsampwidth(2)
            sink.setframerate(SAMPLE_RATE)
            sink.writeframes(samples.tobytes())
    os.replace(partial, target)
