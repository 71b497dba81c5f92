"""Audio levels in dBFS, and a short history of them."""

from __future__ import annotations

import math
import time
from collections import deque

import numpy as np
from av import AudioFrame

SILENCE_DBFS = -100.0


def audio_level_dbfs(frame: AudioFrame) -> float:
    """RMS level of ``frame`` in dBFS (``SILENCE_DBFS`` for digital silence)."""
    samples = frame.to_ndarray()
    data = samples.astype(np.float32) / 32768.0 if samples.dtype == np.int16 else samples.astype(np.float32)
    return power_to_dbfs(float(np.mean(np.square(data)))) if data.size else SILENCE_DBFS


def power_to_dbfs(power: float) -> float:
    return 10 * math.log10(power) if power > 1e-10 else SILENCE_DBFS


class LevelMeter:
    """Levels of the last ``window`` seconds: the current level averages their power."""

    def __init__(self, window: float = 0.2) -> None:
        self.window = window
        self._levels: deque[tuple[float, float]] = deque()

    def add(self, dbfs: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._levels.append((now, dbfs))
        while self._levels and self._levels[0][0] < now - self.window:
            self._levels.popleft()

    def level(self, now: float | None = None) -> float:
        """Mean level over the window in dBFS; silence if nothing arrived lately."""
        now = time.monotonic() if now is None else now
        recent = [db for t, db in self._levels if t >= now - self.window]
        if not recent:
            return SILENCE_DBFS
        return power_to_dbfs(sum(10 ** (db / 10) for db in recent) / len(recent))
