"""Speakers: where remote audio goes. A level-metering (and recording) speaker, and a null one."""

from __future__ import annotations

import wave
from collections import deque
from pathlib import Path

import numpy as np
import numpy.typing as npt
from av import AudioFrame
from av.audio.resampler import AudioResampler

from .audio_level import LevelMeter, power_to_dbfs
from .microphones import FRAME_SAMPLES, SAMPLE_RATE

MAX_BACKLOG = SAMPLE_RATE // 5
"""Samples kept per source before the oldest are dropped (200 ms)."""


class Speaker:
    """Plays what the call receives: mixes every source, measures the mix, can record it.

    ``level_dbfs()`` is the level of what it played over the last 200 ms.
    ``record_to(path)`` writes the mix to a 48 kHz mono WAV file until ``stop_recording()``.
    """

    def __init__(self) -> None:
        self.meter = LevelMeter()
        self._backlog: dict[str, deque[npt.NDArray[np.int16]]] = {}
        self._queued: dict[str, int] = {}
        self._resamplers: dict[str, AudioResampler] = {}
        self._wav: wave.Wave_write | None = None
        self.recording_path: Path | None = None

    def play(self, source: str, frame: AudioFrame) -> None:
        """Take one frame from ``source`` (a participant); mix whenever 20 ms is ready."""
        resampler = self._resamplers.setdefault(source, AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE))
        for mono in resampler.resample(frame):
            samples = mono.to_ndarray().reshape(-1).astype(np.int16)
            queue = self._backlog.setdefault(source, deque())
            queue.append(samples)
            self._queued[source] = self._queued.get(source, 0) + samples.size
            while self._queued[source] > MAX_BACKLOG:
                self._queued[source] -= queue.popleft().size
        while self._queued.get(source, 0) >= FRAME_SAMPLES:
            self._mix_one()

    def forget(self, source: str) -> None:
        """``source`` has gone (a participant left)."""
        self._backlog.pop(source, None)
        self._queued.pop(source, None)
        self._resamplers.pop(source, None)

    def level_dbfs(self) -> float:
        return self.meter.level()

    def record_to(self, path: str | Path) -> None:
        self.stop_recording()
        self.recording_path = Path(path)
        wav = wave.open(str(self.recording_path), "wb")  # noqa: SIM115 (closed by stop_recording)
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        self._wav = wav

    def stop_recording(self) -> None:
        if self._wav is not None:
            self._wav.close()
            self._wav = None

    def _take(self, source: str, count: int) -> npt.NDArray[np.int16]:
        queue, out, filled = self._backlog[source], np.zeros(count, dtype=np.int16), 0
        while filled < count and queue:
            head = queue[0]
            n = min(count - filled, head.size)
            out[filled : filled + n] = head[:n]
            filled += n
            if n == head.size:
                queue.popleft()
            else:
                queue[0] = head[n:]
        self._queued[source] -= filled
        return out

    def _mix_one(self) -> None:
        mix = np.zeros(FRAME_SAMPLES, dtype=np.int32)
        for source in list(self._backlog):
            mix += self._take(source, FRAME_SAMPLES)
        clipped = np.clip(mix, -32768, 32767).astype(np.int16)
        self.meter.add(power_to_dbfs(float(np.mean(np.square(clipped.astype(np.float32) / 32768.0)))))
        if self._wav is not None:
            self._wav.writeframes(clipped.tobytes())
        self._output(clipped)

    def _output(self, mix: npt.NDArray[np.int16]) -> None:
        """Where each 20 ms of the mix goes: nowhere but the meter here; to the page for a page speaker."""


class NullSpeaker(Speaker):
    """Discards what it is given."""

    def play(self, source: str, frame: AudioFrame) -> None:
        pass
