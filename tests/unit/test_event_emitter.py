"""Events: typed names, delivery on the user's loop, and waits that never miss an event."""

from __future__ import annotations

import asyncio
import threading
from typing import Literal

import pytest

from labkit.calling.event_emitter import Emitter, EventDispatcher, ValueChanged

Names = Literal["state_changed"]


class Thing(Emitter[Names]):
    def __init__(self) -> None:
        super().__init__(EventDispatcher())
        self.state = "old"


def test_the_events_are_read_from_the_literal_and_others_are_refused() -> None:
    assert Thing.EVENTS == ("state_changed",)
    with pytest.raises(ValueError, match="Thing has no event 'stat_changed'; its events are: state_changed"):
        Thing().on("stat_changed", print)  # type: ignore[arg-type]


async def test_a_wait_does_not_miss_an_event_raised_on_another_thread_while_it_starts() -> None:
    """The state changes, and its event is raised, on the engine thread just as the wait checks the state."""
    thing = Thing()
    checks = 0

    def changed() -> bool:
        nonlocal checks
        checks += 1
        seen = thing.state == "new"
        if checks == 1:  # between this first check and the wait, the engine thread moves on

            def engine() -> None:
                thing.state = "new"
                thing.emit("state_changed", ValueChanged("new", "old"))

            worker = threading.Thread(target=engine)
            worker.start()
            worker.join()
        return seen

    await thing._wait_until("state_changed", changed, "the change", timeout=2.0)  # noqa: SLF001
    assert thing.state == "new"


async def test_handlers_run_on_the_loop_that_registered_them() -> None:
    thing = Thing()
    threads: list[str] = []
    thing.on("state_changed", lambda event: threads.append(threading.current_thread().name))
    worker = threading.Thread(target=lambda: thing.emit("state_changed", ValueChanged("a", "b")), name="engine-ish")
    worker.start()
    worker.join()
    for _ in range(50):  # delivered through the loop's call_soon_threadsafe
        if threads:
            break
        await asyncio.sleep(0.01)
    assert threads == [threading.current_thread().name]
