"""Synthetic microphones: a sine tone (its frequency tells agents apart) and silence."""

from __future__ import annotations

import asyncio
import fractions
import math
import time

import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960
"""20 ms at 48 kHz: one Opus packet."""
AUDIO_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)


def silent_frame(samples: int = FRAME_SAMPLES, sample_rate: int = SAMPLE_RATE, layout: str = "mono") -> AudioFrame:
    frame = AudioFrame(format="s16", layout=layout, samples=samples)
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.sample_rate = sample_rate
    return frame


class PacedAudioTrack(MediaStreamTrack):
    """Base of the synthetic microphones: 20 ms mono frames at 48 kHz, in real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._samples_sent = 0
        self._start: float | None = None

    def samples(self, first: int, count: int) -> npt.NDArray[np.int16]:
        return np.zeros(count, dtype=np.int16)

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self._samples_sent / SAMPLE_RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -1.0:
            self._start = time.monotonic() - self._samples_sent / SAMPLE_RATE
        data = self.samples(self._samples_sent, FRAME_SAMPLES)
        frame = AudioFrame.from_ndarray(data.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._samples_sent
        frame.time_base = AUDIO_TIME_BASE
        self._samples_sent += FRAME_SAMPLES
        return frame


class ToneMicrophoneTrack(PacedAudioTrack):
    """A continuous sine tone at ``frequency`` Hz and ``amplitude`` (0..1 of full scale)."""

    def __init__(self, frequency: float = 440.0, amplitude: float = 0.3) -> None:
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude

    def samples(self, first: int, count: int) -> npt.NDArray[np.int16]:
        t = (np.arange(first, first + count) / SAMPLE_RATE) * 2 * math.pi * self.frequency
        return (np.sin(t) * self.amplitude * 32767).astype(np.int16)


class SilentMicrophoneTrack(PacedAudioTrack):
    """Digital silence, in real time."""
