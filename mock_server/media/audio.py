"""Result audio for audio models: a playable 16-bit mono WAV of the requested length, a soft
chord whose notes come from the task id (so each task sounds different, and the same task the
same); written atomically."""

from __future__ import annotations

import hashlib
import math
import os
import wave
from pathlib import Path

SAMPLE_RATE = 22_050
NOTES_HZ = (220.0, 261.63, 293.66, 329.63, 392.0, 440.0)


def render_wav(task_id: str, *, seconds: int, target: Path) -> None:
    import numpy as np

    digest = hashlib.blake2b(task_id.encode(), digest_size=3).digest()
    tones = [NOTES_HZ[byte % len(NOTES_HZ)] * (1 + index) for index, byte in enumerate(digest)]
    time = np.arange(seconds * SAMPLE_RATE) / SAMPLE_RATE
    signal = sum(np.sin(2 * math.pi * tone * time) for tone in tones) / len(tones)
    fade = np.minimum(1.0, np.minimum(time, seconds - time) / 0.05)  # no clicks at either end
    samples = (signal * fade * 0.3 * 32767).astype("<i2")
    partial = target.with_suffix(".partial")
    with wave.open(str(partial), "wb") as sink:
        sink.setnchannels(1)
        sink.setsampwidth(2)
        sink.setframerate(SAMPLE_RATE)
        sink.writeframes(samples.tobytes())
    os.replace(partial, target)
