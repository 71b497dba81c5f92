"""Events: ``obj.on(name, handler)`` and ``obj.off(...)``, as in ACS, plus awaitable waits.

Every object with events subclasses ``Emitter[Names]``, where ``Names`` is a ``Literal`` of
its event names (as livekit's ``rtc.EventEmitter``): a misspelled event fails ``mypy``, and
the runtime check names the events there are.

**Threading model.** Calls run on labkit's engine thread, so that a busy notebook cell
never stalls media. Events are raised there and *delivered on the event loop that last
called into labkit* (the notebook kernel's loop, or your ``asyncio.run`` loop). Handlers,
sync or async, therefore run where your code runs and may touch widgets or your state
freely. A handler that blocks delays later events but never the media. If no loop of
yours is running, handlers run on the engine thread, so keep them short.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar, get_args, get_origin

from ..media.engine import THREAD_NAME as ENGINE_THREAD

logger = logging.getLogger(__name__)

Handler = Callable[[Any], Any]
T = TypeVar("T")
EventName = TypeVar("EventName", bound=str)


class EventDispatcher:
    """Remembers the user's loop and delivers events onto it."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def bind(self) -> None:
        """Called by public methods: events now go to the loop that is running here."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if threading.current_thread().name != ENGINE_THREAD:
            self.loop = loop

    def deliver(self, emitter: Emitter[Any], name: str, event: object) -> None:
        """Run ``emitter``'s handlers for ``name`` on the user's loop.

        Handlers are looked up when they run, not when the event is raised, so a handler
        registered right after ``start_call()`` returns still sees the call's first events,
        as in ACS's single-threaded JavaScript.
        """
        loop = self.loop
        if loop is None or loop.is_closed():
            self._run(emitter, name, event, None)
            return
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is loop:
            self._run(emitter, name, event, loop)
        else:
            loop.call_soon_threadsafe(self._run, emitter, name, event, loop)

    def _run(self, emitter: Emitter[Any], name: str, event: object, loop: asyncio.AbstractEventLoop | None) -> None:
        for handler in emitter.handlers(name):
            try:
                result = handler(event)
                if inspect.isawaitable(result):
                    if loop is None:
                        loop = asyncio.get_running_loop()
                    task = loop.create_task(_guard(result, handler))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            except Exception:
                logger.exception("an event handler failed: %r", handler)


async def _guard(awaitable: Any, handler: Handler) -> None:
    try:
        await awaitable
    except Exception:
        logger.exception("an async event handler failed: %r", handler)


class Emitter(Generic[EventName]):
    """Base of every object with events: ``class Call(Emitter[CallEventName])``.

    ``EVENTS`` is read from the ``Literal`` the subclass names.
    """

    EVENTS: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in cls.__dict__.get("__orig_bases__", ()):
            if get_origin(base) is Emitter:
                (names,) = get_args(base)
                cls.EVENTS = tuple(get_args(names))

    def __init__(self, dispatcher: EventDispatcher) -> None:
        self._dispatcher = dispatcher
        self._handlers: dict[str, list[Handler]] = {}
        self._waiters: list[tuple[str, Callable[[Any], bool], asyncio.Future[Any]]] = []
        self._waiters_lock = threading.Lock()

    def on(self, event: EventName, handler: Handler) -> Handler:
        """Call ``handler(event_args)`` on each ``event``; returns ``handler`` (usable as a decorator)."""
        self._check(event)
        self._dispatcher.bind()
        self._handlers.setdefault(event, []).append(handler)
        return handler

    def off(self, event: EventName, handler: Handler | None = None) -> None:
        """Stop calling ``handler`` (or every handler) on ``event``."""
        self._check(event)
        if handler is None:
            self._handlers.pop(event, None)
        else:
            handlers = self._handlers.get(event, [])
            if handler in handlers:
                handlers.remove(handler)

    async def wait_for_event(
        self, event: EventName, predicate: Callable[[Any], bool] | None = None, timeout: float | None = 10.0
    ) -> Any:
        """The args of the next ``event`` for which ``predicate`` holds (``TimeoutError`` after ``timeout``)."""
        self._check(event)
        self._dispatcher.bind()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        entry = (event, predicate or (lambda _: True), future)
        with self._waiters_lock:
            self._waiters.append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            with self._waiters_lock:
                if entry in self._waiters:
                    self._waiters.remove(entry)

    def handlers(self, event: str) -> list[Handler]:
        """The handlers registered for ``event`` now (a copy)."""
        return list(self._handlers.get(event, ()))

    async def _wait_until(
        self, event: EventName, condition: Callable[[], bool], what: str, timeout: float | None
    ) -> None:
        """Wait until ``condition()`` holds, re-checking on each ``event``.

        The waiter is registered before the first check: an event raised on the engine
        thread between the two is then seen either by the check or by the waiter, never lost.
        """
        self._check(event)
        self._dispatcher.bind()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        entry = (event, lambda _: condition(), future)
        with self._waiters_lock:
            self._waiters.append(entry)
        try:
            if condition():
                return
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(f"{what} did not happen within {timeout:g} s") from None
        finally:
            with self._waiters_lock:
                if entry in self._waiters:
                    self._waiters.remove(entry)

    def emit(self, event: EventName, args: object) -> None:
        """Raise ``event``: its waiters and handlers get ``args`` (for labkit's own objects to call)."""
        with self._waiters_lock:
            ready = [w for w in self._waiters if w[0] == event]
        for _, predicate, future in ready:
            future.get_loop().call_soon_threadsafe(_resolve, future, predicate, args)
        self._dispatcher.deliver(self, event, args)

    def _check(self, event: str) -> None:
        if event not in self.EVENTS:
            known = ", ".join(self.EVENTS)
            raise ValueError(f"{type(self).__name__} has no event {event!r}; its events are: {known}")


def _resolve(future: asyncio.Future[Any], predicate: Callable[[Any], bool], args: object) -> None:
    if future.done():
        return
    try:
        if predicate(args):
            future.set_result(args)
    except Exception as exc:
        future.set_exception(exc)


@dataclass(frozen=True, slots=True)
class ValueChanged(Generic[T]):
    """A property changed: ``state_changed``, ``is_muted_changed``, ``is_available_changed``, ..."""

    value: T
    previous: T


@dataclass(frozen=True, slots=True)
class CollectionUpdated(Generic[T]):
    """Items were added to or removed from a collection: ``remote_participants_updated``, ..."""

    added: tuple[T, ...] = ()
    removed: tuple[T, ...] = ()
