"""Recording a call to a webm file: VP8 video and Opus audio, encoded on a thread of its own.

The call hands the recorder audio frames from each source (every remote participant, and
the microphone as it is sent) and a function that says what to show. A worker thread
mixes the audio every 20 ms and, at a fixed frame rate, lays the tiles out in a grid and
encodes both with PyAV. Nothing is encoded on the engine thread, so recording never stalls
the call; if encoding falls behind, video frames are skipped, never audio.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from av import AudioFrame, VideoFrame
from av.audio.resampler import AudioResampler

from ..errors import ErrorCode, LabkitError
from .compositor import GridCompositor, Tile
from .microphones import FRAME_SAMPLES, SAMPLE_RATE
from .sample_queue import SampleQueue

logger = logging.getLogger(__name__)

THREAD_NAME = "labkit-recorder"
PRIME_SAMPLES = 3 * FRAME_SAMPLES
"""A source plays into the mix once 60 ms of it are waiting (and again after it ran dry)."""
MAX_BACKLOG = 25 * FRAME_SAMPLES
"""At most 0.5 s of one source waits; older audio is dropped."""


class _Source:
    """One audio source's waiting samples (s16 mono, 48 kHz), played once primed."""

    def __init__(self) -> None:
        self.resampler = AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        self.queue = SampleQueue(MAX_BACKLOG)
        self.primed = False

    def take(self, count: int) -> npt.NDArray[np.int16] | None:
        if not self.primed:
            if self.queue.queued < PRIME_SAMPLES:
                return None
            self.primed = True
        if self.queue.queued < count:
            self.primed = False  # ran dry: wait for 60 ms again rather than crackle
            return None
        return self.queue.take(count)


class WebmRecorder:
    """Writes what ``tiles()`` shows and what ``add_audio`` is given to ``path`` until ``stop()``."""

    def __init__(
        self,
        path: str | Path,
        tiles: Callable[[], Sequence[Tile]],
        width: int = 640,
        height: int = 480,
        fps: float = 15.0,
        video_bitrate: int = 1_000_000,
    ) -> None:
        if width < 64 or height < 64 or width % 2 or height % 2:
            raise ValueError(f"a recording of {width}x{height} is not possible: use even sizes of at least 64x64")
        if not 1 <= fps <= 60:
            raise ValueError(f"a recording at {fps} frames/s is not possible: use 1 to 60")
        self.path = Path(path)
        self.width, self.height, self.fps = width, height, fps
        self._tiles = tiles
        try:
            self.path.open("wb").close()  # PyAV opens the file only at its first write
            self._container: Any = av.open(str(self.path), "w", format="webm")
        except (OSError, av.FFmpegError) as error:
            raise LabkitError(
                ErrorCode.RECORDING_FAILED,
                f"Cannot write a recording to {self.path}: {error}.",
                "Give a path in a folder that exists and that you can write to.",
            ) from error
        video = self._container.add_stream("libvpx", rate=Fraction(fps).limit_denominator(1000))
        video.width, video.height, video.pix_fmt, video.bit_rate = width, height, "yuv420p", video_bitrate
        video.options = {"deadline": "realtime", "cpu-used": "8"}
        audio = self._container.add_stream("libopus", rate=SAMPLE_RATE)
        audio.layout = "mono"
        self._video, self._audio = video, audio
        self._sources: dict[str, _Source] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._compositor = GridCompositor(width, height)
        self.frames_written = 0
        """Video frames encoded so far."""
        self.audio_samples_written = 0
        self.cpu_seconds = 0.0
        """CPU time the worker thread has used (composing, encoding, writing)."""
        self.error: BaseException | None = None
        """What stopped the recording early, if anything did."""
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    @property
    def is_recording(self) -> bool:
        return self._thread.is_alive()

    @property
    def duration(self) -> float:
        """Seconds of audio written so far."""
        return self.audio_samples_written / SAMPLE_RATE

    def add_audio(self, source: str, frame: AudioFrame) -> None:
        """Take one frame of ``source`` (any format, rate or layout); called from any thread."""
        if self._stopping.is_set():
            return
        with self._lock:
            entry = self._sources.get(source)
            if entry is None:
                entry = self._sources[source] = _Source()
            pts, frame.pts = frame.pts, None  # the resampler keeps its own count
            try:
                for mono in entry.resampler.resample(frame):
                    entry.queue.push(mono.to_ndarray().reshape(-1).astype(np.int16))
            finally:
                frame.pts = pts  # the frame goes on to the encoder or speaker

    def forget(self, source: str) -> None:
        """``source`` has gone (a participant left)."""
        with self._lock:
            self._sources.pop(source, None)

    def stop(self) -> Path:
        """Finish the file (it plays from the start) and end the worker thread."""
        self._stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        return self.path

    # --- the worker thread ----------------------------------------------------------------

    def _run(self) -> None:
        start, audio_ticks, video_ticks = time.monotonic(), 0, 0
        frame_interval = 1.0 / self.fps
        try:
            while not self._stopping.is_set():
                now = time.monotonic() - start
                while (audio_ticks + 1) * FRAME_SAMPLES / SAMPLE_RATE <= now:
                    self._encode_audio(audio_ticks)
                    audio_ticks += 1
                if video_ticks * frame_interval <= now:
                    self._encode_video(video_ticks)
                    video_ticks = max(video_ticks + 1, math.floor(now / frame_interval))  # skip, never catch up
                next_audio = (audio_ticks + 1) * FRAME_SAMPLES / SAMPLE_RATE
                self.cpu_seconds = time.thread_time()
                self._stopping.wait(max(0.0, min(next_audio, video_ticks * frame_interval) - now))
            for stream in (self._video, self._audio):
                for packet in stream.encode(None):
                    self._container.mux(packet)
        except Exception as error:  # a full disk, say: the call goes on, the recording stops
            logger.exception("the recording to %s stopped", self.path)
            self.error = error
        finally:
            try:
                self._container.close()  # writes the file's last bytes: it can fail the same way
            except Exception as error:
                self.error = self.error or error
            self.cpu_seconds = time.thread_time()

    def _encode_audio(self, tick: int) -> None:
        mix = np.zeros(FRAME_SAMPLES, dtype=np.int32)
        with self._lock:
            for source in self._sources.values():
                samples = source.take(FRAME_SAMPLES)
                if samples is not None:
                    mix += samples
        frame = AudioFrame.from_ndarray(
            np.clip(mix, -32768, 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = tick * FRAME_SAMPLES
        frame.time_base = Fraction(1, SAMPLE_RATE)
        for packet in self._audio.encode(frame):
            self._container.mux(packet)
        self.audio_samples_written += FRAME_SAMPLES

    def _encode_video(self, tick: int) -> None:
        frame = VideoFrame.from_ndarray(self.compose(self._tiles()), format="rgb24")
        frame.pts = tick
        frame.time_base = Fraction(1, 1) / self._video.codec_context.framerate
        for packet in self._video.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def compose(self, tiles: Sequence[Tile]) -> npt.NDArray[np.uint8]:
        """The picture for ``tiles`` (see ``GridCompositor``)."""
        return self._compositor.compose(tiles)


__all__ = ["Tile", "WebmRecorder"]
