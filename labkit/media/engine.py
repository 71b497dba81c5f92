"""The media engine: one thread with its own event loop for aiortc, devices and signaling.

Media must never stall because a notebook cell is busy, so nothing of a call runs on the
caller's loop. Public calling methods submit their work here with ``run`` and await it from
whatever loop they were called on. One engine serves the whole process; it starts with
the first ``acquire()`` and its thread ends after the last ``release()``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .ice import apply_ice_mode

logger = logging.getLogger(__name__)

T = TypeVar("T")

THREAD_NAME = "labkit-engine"
LAG_PROBE_INTERVAL = 0.1
"""How often the engine checks how late its loop runs (``MediaEngine.loop_lag``)."""


class MediaEngine:
    """An event loop on a daemon thread."""

    def __init__(self) -> None:
        apply_ice_mode()  # loopback-only host candidates unless asked otherwise (labkit.media.ice)
        self.loop = asyncio.new_event_loop()
        self._lags: deque[tuple[float, float]] = deque(maxlen=round(10 / LAG_PROBE_INTERVAL))
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    @property
    def is_running(self) -> bool:
        return self._thread.is_alive()

    def in_engine(self) -> bool:
        """True when called from the engine's own thread."""
        return threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the engine and await its result from the current loop."""
        if self.in_engine():
            return await coro
        return await asyncio.wrap_future(self.submit(coro))

    async def cancel(self, task: asyncio.Task[Any] | None) -> None:
        """Cancel ``task`` (an engine task) and wait until it has stopped; nothing if it is ``None``."""
        if task is None:
            return

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        await self.run(stop())

    def call_soon(self, callback: Any, *args: Any) -> None:
        self.loop.call_soon_threadsafe(callback, *args)

    def loop_lag(self, window: float = 2.0) -> float:
        """The longest the loop ran late over the last ``window`` seconds (s; labkit).

        A timer due every 0.1 s measures it. On a computer with CPU to spare it stays
        under a few milliseconds; when the process starves (too many calls for the cores,
        a busy kernel holding the GIL), every packet waits that long, and the RTT and
        jitter the stats measure are this computer's delay, not the network's.
        """
        since = time.monotonic() - window
        return max((lag for at, lag in list(self._lags) if at >= since), default=0.0)

    async def _probe_lag(self) -> None:
        while True:
            due = time.monotonic() + LAG_PROBE_INTERVAL
            await asyncio.sleep(LAG_PROBE_INTERVAL)
            now = time.monotonic()
            self._lags.append((now, max(0.0, now - due)))

    def stop(self, timeout: float = 10.0) -> None:
        if not self._thread.is_alive():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.create_task(self._probe_lag(), name="labkit-loop-lag")
        try:
            self.loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.run_until_complete(self.loop.shutdown_default_executor())  # encoder threads
            self.loop.close()


_engine: MediaEngine | None = None
_users = 0
_lock = threading.Lock()


def acquire() -> MediaEngine:
    """The process's engine, started if needed; pair with ``release()``."""
    global _engine, _users
    with _lock:
        if _engine is None or not _engine.is_running:
            _engine = MediaEngine()
        _users += 1
        return _engine


def release() -> None:
    """Stop the engine's thread once nobody uses it."""
    global _engine, _users
    with _lock:
        _users = max(0, _users - 1)
        engine = _engine if _users == 0 else None
        if engine is not None:
            _engine = None
    if engine is not None:
        engine.stop()


def log_failure(what: str) -> Callable[[asyncio.Future[Any] | concurrent.futures.Future[Any]], None]:
    """A done-callback for work that nobody awaits: its failure is logged, never lost."""

    def done(work: asyncio.Future[Any] | concurrent.futures.Future[Any]) -> None:
        if not work.cancelled() and (error := work.exception()) is not None:
            logger.error("%s failed", what, exc_info=error)

    return done
