"""Speakers: where remote audio goes. A level-metering (and recording) speaker, and a null one."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
from av import AudioFrame
from av.audio.resampler import AudioResampler

from .audio_level import LevelMeter, power_to_dbfs
from .microphones import FRAME_SAMPLES, SAMPLE_RATE
from .sample_queue import SampleQueue

MAX_BACKLOG = SAMPLE_RATE // 5
"""Samples kept per source before the oldest are dropped (200 ms)."""


class Speaker:
    """Plays what the call receives: mixes every source, measures the mix, can record it.

    ``level_dbfs()`` is the level of what it played over the last 200 ms.
    ``record_to(path)`` writes the mix to a 48 kHz mono WAV file until ``stop_recording()``.
    """

    def __init__(self) -> None:
        self.meter = LevelMeter()
        self._backlog: dict[str, SampleQueue] = {}
        self._resamplers: dict[str, AudioResampler] = {}
        self._wav: wave.Wave_write | None = None
        self.recording_path: Path | None = None

    def play(self, source: str, frame: AudioFrame) -> None:
        """Take one frame from ``source`` (a participant); mix whenever 20 ms is ready."""
        resampler = self._resamplers.setdefault(source, AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE))
        for mono in resampler.resample(frame):
            queue = self._backlog.setdefault(source, SampleQueue(MAX_BACKLOG))
            queue.push(mono.to_ndarray().reshape(-1).astype(np.int16))
        while source in self._backlog and self._backlog[source].queued >= FRAME_SAMPLES:
            self._mix_one()

    def forget(self, source: str) -> None:
        """``source`` has gone (a participant left)."""
        self._backlog.pop(source, None)
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

    def _mix_one(self) -> None:
        mix = np.zeros(FRAME_SAMPLES, dtype=np.int32)
        for queue in list(self._backlog.values()):
            mix += queue.take(FRAME_SAMPLES)
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
