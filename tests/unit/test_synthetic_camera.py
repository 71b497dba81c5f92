"""The synthetic camera's pictures: what it captures is what it renders, stamped, with a moving clock."""

from __future__ import annotations

import asyncio

import numpy as np

from labkit.media import frame_code
from labkit.media.rgb import rgb_image
from labkit.media.synthetic_camera import SyntheticCameraTrack


def test_a_captured_frame_is_the_rendered_picture_and_carries_its_stamp() -> None:
    camera = SyntheticCameraTrack(2, "Bob", 320, 240, accent=(30, 120, 200))
    frame = camera._capture(42, 1_000.25)  # noqa: SLF001 - the capture step, without recv's pacing
    picture = rgb_image(frame)
    assert (frame.width, frame.height) == (320, 240)
    assert np.array_equal(picture, camera.render(42, 1_000.25))
    assert frame_code.decode(picture) == frame_code.FrameStamp(2, 42, 1_000_250)


def test_the_clock_line_changes_with_the_time_and_only_there() -> None:
    camera = SyntheticCameraTrack(1, "Ann", 640, 480)
    band = frame_code.band_height(480)
    one, other = camera.render(0, 1_000.0), camera.render(0, 1_001.0)  # the same frame number, a second apart
    changed = np.argwhere((one != other).any(axis=2))
    rows = set(changed[:, 0].tolist())
    clock_rows = {r for r in rows if r >= band}  # the stamp band carries the time too
    assert clock_rows, "the clock did not change"
    assert min(clock_rows) >= 480 - 480 // 10 - 8  # the clock's line, at the bottom
    bright_yellow = (one[min(clock_rows) :, :, 0] > 200) & (one[min(clock_rows) :, :, 2] < 60)
    assert bright_yellow.sum() > 200  # drawn, in yellow


def test_frames_come_at_the_camera_rate_with_rising_timestamps() -> None:
    async def capture() -> list[int]:
        camera = SyntheticCameraTrack(1, "Ann", 160, 120, fps=30)
        frames = [await camera.recv() for _ in range(6)]
        camera.stop()
        return [int(f.pts or 0) for f in frames]

    assert asyncio.run(capture()) == [0, 3000, 6000, 9000, 12000, 15000]
