"""How fast the call app answers a press: hold, resume and record, in two CallApps in this process.

Alice and Bob each have a ``CallApp`` (as in notebook 03) in a video call. Alice presses
**Hold** and **Resume** ``--rounds`` times, and **Record** once. Reported, in milliseconds
from the press (the button's model value set, as a click in the page sets it):
- *feedback*: Alice's button changes (``Holding…``);
- *held*: her controls show the new state (``Resume``), after the renegotiation;
- *other side*: Bob's call shows ``RemoteHold`` (or ``Connected`` after resume);
- *video back*: after resume, both apps' tiles show new frames again;
- *recording mark*: Alice's status line shows ``● recording``.

    python benchmarks/bench_call_app.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable

import labkit
from labkit.widgets import CallApp


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> float:
    """Milliseconds until ``condition()`` holds (polled every 2 ms)."""
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("the app did not follow within the timeout")
        await asyncio.sleep(0.002)
    return (time.perf_counter() - start) * 1000


def tiles_moving(app: CallApp) -> Callable[[], bool]:
    assert app.video is not None
    feeds = [f for f in app.video.pump.feeds if f.image is not app.video.preview_tile.image]
    before = [f.frames_pushed for f in feeds]
    return lambda: all(f.frames_pushed >= b + 3 for f, b in zip(feeds, before, strict=True))


async def main(rounds: int) -> None:
    service = labkit.start_service()
    alice, bob = await labkit.app("Alice", endpoint=service.url), await labkit.app("Bob", endpoint=service.url)
    rows: dict[str, list[float]] = {}
    try:
        alice.dialer.callee.value = "bob"
        alice.dialer.video_button.click()
        await until(lambda: bob.prompt.visible)
        bob.prompt.accept_video.click()
        await until(lambda: alice.page == "call" and bob.page == "call")
        assert alice.call is not None
        assert bob.call is not None
        assert alice.controls is not None
        await alice.call.wait_for_state("Connected")
        await asyncio.sleep(2.0)
        controls, bob_call = alice.controls, bob.call
        for _ in range(rounds):
            for hold in (True, False):
                label = "hold" if hold else "resume"
                done = "Resume" if hold else "Hold"
                other = "RemoteHold" if hold else "Connected"
                start = time.perf_counter()
                controls.hold_button.value = hold
                rows.setdefault(f"{label}: feedback", []).append((time.perf_counter() - start) * 1000)
                held = await until(lambda d=done: controls.hold_button.description == d)
                rows.setdefault(f"{label}: state shown", []).append(held)
                far = await until(lambda o=other: bob_call.state.value == o)
                rows.setdefault(f"{label}: other side", []).append(max(held, far))
                if not hold:
                    moving = tiles_moving(alice), tiles_moving(bob)
                    rows.setdefault("resume: video back in both apps", []).append(
                        await until(lambda m=moving: m[0]() and m[1]())
                    )
                await asyncio.sleep(1.0)
        start = time.perf_counter()
        controls.record_button.value = True
        rows["record: mark shown"] = [await until(lambda: "● recording" in controls.status.value)]
        controls.record_button.value = False
        await until(lambda: controls.last_recording is not None)
    finally:
        await alice.dispose()
        await bob.dispose()
        service.stop()
    print(f"Two CallApps in one process, a video call, {rounds} holds and resumes; milliseconds from the press\n")
    print("| what | median | worst |")
    print("|---|---:|---:|")
    for what, values in rows.items():
        print(f"| {what} | {statistics.median(values):.0f} | {max(values):.0f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))
