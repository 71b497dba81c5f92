"""The fast layer: no service, no browser, no network; each test runs in milliseconds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labkit.calling.call_host import CallHost
from labkit.calling.device_manager import DeviceManager
from labkit.calling.event_emitter import EventDispatcher
from labkit.calling.token_credential import TokenCredential
from labkit.clock import ManualClock
from labkit.media import engine as media_engine
from labkit.media.engine import MediaEngine
from labkit.media.ice import rtc_configuration
from labkit.protocol.memory_transport import MemoryTransport


@pytest.fixture
def engine() -> Iterator[MediaEngine]:
    """labkit's real engine thread, released after the test."""
    engine = media_engine.acquire()
    yield engine
    media_engine.release()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def transport() -> MemoryTransport:
    """Plays the service; a test sets ``transport.handler`` to answer requests."""
    return MemoryTransport()


@pytest.fixture
def host(engine: MediaEngine, transport: MemoryTransport, clock: ManualClock) -> CallHost:
    """What a call needs from its agent, over the in-memory transport, signed in as Alice."""
    dispatcher = EventDispatcher()
    return CallHost(
        engine,
        dispatcher,
        DeviceManager(engine, dispatcher),
        TokenCredential("not-a-jwt"),
        transport,
        rtc_configuration([]),
        ring_timeout=30.0,
        user_id="8:acs:alice",
        display_name="Alice",
        clock=clock,
    )
