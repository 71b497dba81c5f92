"""Audio samples waiting to be played or mixed: a FIFO of s16 mono chunks with a cap.

The speakers' mixers, the page speaker's track and the call recorder each keep one per
source. Audio arrives in bursts of any size; it leaves in fixed counts (20 ms), and
whatever waits beyond the cap is dropped, oldest first, so a source never falls behind.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt


class SampleQueue:
    """Samples in arrival order, at most ``max_backlog`` of them."""

    def __init__(self, max_backlog: int) -> None:
        self.max_backlog = max_backlog
        self.queued = 0
        """How many samples are waiting."""
        self._chunks: deque[npt.NDArray[np.int16]] = deque()

    def push(self, samples: npt.NDArray[np.int16]) -> None:
        self._chunks.append(samples)
        self.queued += samples.size
        while self.queued > self.max_backlog:
            self.queued -= self._chunks.popleft().size

    def take(self, count: int) -> npt.NDArray[np.int16]:
        """The next ``count`` samples; zeros after the last one waiting."""
        out, filled = np.zeros(count, dtype=np.int16), 0
        while filled < count and self._chunks:
            head = self._chunks[0]
            n = min(count - filled, head.size)
            out[filled : filled + n] = head[:n]
            filled += n
            if n == head.size:
                self._chunks.popleft()
            else:
                self._chunks[0] = head[n:]
        self.queued -= filled
        return out


__all__ = ["SampleQueue"]
