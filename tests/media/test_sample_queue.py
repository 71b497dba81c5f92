"""SampleQueue: samples leave in the order they came, zero-filled, and never more than the cap wait."""

from __future__ import annotations

import numpy as np

from labkit.media.sample_queue import SampleQueue


def test_samples_leave_in_order_across_chunks_then_zeros() -> None:
    queue = SampleQueue(max_backlog=100)
    queue.push(np.arange(1, 8, dtype=np.int16))
    queue.push(np.arange(8, 11, dtype=np.int16))
    assert queue.queued == 10
    assert queue.take(4).tolist() == [1, 2, 3, 4]
    assert queue.take(4).tolist() == [5, 6, 7, 8]  # across the chunk boundary
    assert queue.take(4).tolist() == [9, 10, 0, 0]  # then silence
    assert queue.queued == 0


def test_the_oldest_chunks_are_dropped_beyond_the_cap() -> None:
    queue = SampleQueue(max_backlog=5)
    for start in range(0, 12, 3):
        queue.push(np.arange(start, start + 3, dtype=np.int16))
    assert queue.queued == 3  # 12 pushed; whole chunks dropped until at most 5 wait
    assert queue.take(3).tolist() == [9, 10, 11]
