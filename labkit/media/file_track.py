"""A track read from anything PyAV opens: a looped file, or a live capture device."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame


def probe(source: str, kind: str, av_format: str | None = None) -> str:
    """Check that PyAV can open ``source`` with a stream of ``kind``; return a description."""
    try:
        container = av.open(source, format=av_format)
    except (av.FFmpegError, OSError) as exc:
        raise ValueError(f"PyAV cannot open {source!r}: {exc}") from exc
    try:
        streams = container.streams.video if kind == "video" else container.streams.audio
        if not streams:
            raise ValueError(f"{source!r} has no {kind} stream")
        codec: Any = streams[0].codec_context
        if kind == "video":
            return f"{codec.name} {codec.width}x{codec.height}"
        return f"{codec.name} {codec.sample_rate} Hz"
    finally:
        container.close()


class FileTrack(MediaStreamTrack):
    """The first ``kind`` stream of ``source``, decoded off the event loop.

    A file plays in real time by its timestamps and loops (``loop=True``); a live source
    (``live=True``, e.g. ``/dev/video0`` with ``av_format="v4l2"``) is read as fast as it
    delivers.
    """

    def __init__(
        self,
        source: str | Path,
        kind: str,
        *,
        loop: bool = True,
        live: bool = False,
        av_format: str | None = None,
        options: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.source = str(source)
        self._loop_playback = loop and not live
        self._live = live
        self._format = av_format
        self._options = options or {}
        self._container: Any = None
        self._frames: Any = None
        self._lock = threading.Lock()
        self._start: float | None = None
        self._offset = 0.0  # seconds added per completed loop
        self._last_time = 0.0

    def _open(self) -> None:
        self._container = av.open(self.source, format=self._format, options=self._options)
        streams = self._container.streams.video if self.kind == "video" else self._container.streams.audio
        if not streams:
            raise MediaStreamError(f"{self.source} has no {self.kind} stream")
        self._frames = self._container.decode(streams[0])

    def _decode_next(self) -> VideoFrame | AudioFrame | None:
        with self._lock:
            if self.readyState != "live":
                return None
            if self._container is None:
                self._open()
            for _ in range(2):
                try:
                    frame: VideoFrame | AudioFrame = next(self._frames)
                    return frame
                except StopIteration:
                    if not self._loop_playback:
                        return None
                    self._offset = self._last_time
                    self._container.seek(0)
                    streams = self._container.streams.video if self.kind == "video" else self._container.streams.audio
                    self._frames = self._container.decode(streams[0])
            return None

    async def recv(self) -> VideoFrame | AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        try:
            frame = await asyncio.to_thread(self._decode_next)
        except (av.FFmpegError, OSError) as exc:
            self.stop()
            raise MediaStreamError(f"reading {self.source} failed: {exc}") from exc
        if frame is None:
            self.stop()
            raise MediaStreamError
        if not self._live and frame.pts is not None and frame.time_base is not None:
            at = self._offset + float(frame.pts * frame.time_base)
            self._last_time = max(self._last_time, at + _duration(frame))
            if self._start is None:
                self._start = time.monotonic() - at
            delay = self._start + at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        return frame

    def stop(self) -> None:
        super().stop()
        with self._lock:
            if self._container is not None:
                self._container.close()
                self._container = None


def _duration(frame: VideoFrame | AudioFrame) -> float:
    if isinstance(frame, AudioFrame) and frame.sample_rate:
        return frame.samples / frame.sample_rate
    return 1 / 30
