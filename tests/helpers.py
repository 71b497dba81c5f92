"""Helpers the test modules share (fixtures live in conftest.py files; helpers live here)."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack
from av import AudioFrame

from labkit import (
    Call,
    CallAgent,
    CallClient,
    CallState,
    DeviceManager,
    LocalVideoStream,
    RemoteParticipant,
    RemoteVideoStream,
)
from labkit.media.encoder_input import EncoderInputTrack
from labkit.media.ice import rtc_configuration
from labkit.media.microphones import ToneMicrophoneTrack
from labkit.media.peer_link import PeerLink
from labkit.media.synthetic_camera import SyntheticCameraTrack
from labkit.protocol.messages import SignalPayload
from labkit.stats import MediaStatsCollector


@dataclass
class Person:
    """One test user: a call client, its signed-in agent and its devices."""

    name: str
    client: CallClient
    agent: CallAgent
    devices: DeviceManager

    async def camera(self, number: int = 1) -> LocalVideoStream:
        return LocalVideoStream((await self.devices.get_cameras())[number - 1])

    def speaker_level(self) -> float:
        return self.devices.speaker_output().level_dbfs()


Factory = Callable[..., Awaitable[Person]]


async def eventually(condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Wait (bounded) for ``condition()`` to hold."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s")
        await asyncio.sleep(0.05)


async def frames_during(stream: object, seconds: float) -> int:
    """How many frames ``stream`` (a RemoteVideoStream) received in the next ``seconds``."""
    before = stream.frames_received  # type: ignore[attr-defined]
    await asyncio.sleep(seconds)
    return int(stream.frames_received - before)  # type: ignore[attr-defined]


async def frames_arrive(stream: object, at_least: int, within: float = 5.0, what: str = "video") -> None:
    """Wait (bounded) until ``stream`` (a RemoteVideoStream) has received ``at_least`` more frames.

    The claim is that video flows; how fast is for ``benchmarks/`` (a loaded machine halves the rate).
    """
    loop = asyncio.get_running_loop()
    before = stream.frames_received  # type: ignore[attr-defined]
    deadline = loop.time() + within
    while (got := int(stream.frames_received - before)) < at_least:  # type: ignore[attr-defined]
        if loop.time() > deadline:
            raise AssertionError(f"{what}: {got} frames in {within} s, expected at least {at_least}")
        await asyncio.sleep(0.05)


async def grows_by(read: Callable[[], Awaitable[float]], amount: float, within: float = 5.0, what: str = "") -> None:
    """Wait (bounded) until the counter ``read()`` (a page's framesDecoded, say) has grown by ``amount``."""
    loop = asyncio.get_running_loop()
    before = await read()
    deadline = loop.time() + within
    while (grown := await read() - before) < amount:
        if loop.time() > deadline:
            raise AssertionError(f"{what or 'the counter'} grew by {grown} in {within} s, expected {amount}")
        await asyncio.sleep(0.1)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def state_of(call: Call) -> CallState:
    """The call's state now (a function, so mypy does not carry an earlier assert's narrowing past an await)."""
    return call.state


def has_video(participant: RemoteParticipant) -> bool:
    return bool(participant.video_streams)


def has_frames(participant: RemoteParticipant, at_least: int = 10) -> bool:
    return bool(participant.video_streams) and participant.video_streams[0].frames_received > at_least


def has_stamp(stream: RemoteVideoStream) -> bool:
    """The stream's latest frame carries a synthetic-camera stamp."""
    return stream.latest_stamp() is not None


def has_audio(participant: RemoteParticipant, above_dbfs: float = -60.0) -> bool:
    return participant.audio_level_dbfs() > above_dbfs


def stop_process(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """Ask ``process`` to end (SIGTERM); kill it if it has not within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def engine_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "labkit-engine"]


@dataclass
class LinkPair:
    """Two real ``PeerLink``s whose signals go straight to each other, in memory (no service).

    ``signals`` records every payload as (sender, payload) in the order sent.
    """

    a: PeerLink = field(init=False)
    b: PeerLink = field(init=False)
    signals: list[tuple[str, SignalPayload]] = field(default_factory=list)
    tracks: dict[str, list[MediaStreamTrack]] = field(default_factory=lambda: {"a": [], "b": []})
    errors: list[BaseException] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.a = self._link("a", "b")
        self.b = self._link("b", "a")

    def _link(self, name: str, other: str) -> PeerLink:
        async def send(payload: SignalPayload) -> None:
            self.signals.append((name, payload))
            peer = self.b if name == "a" else self.a
            task = asyncio.ensure_future(peer.handle(payload))
            task.add_done_callback(self._note_error)

        return PeerLink(
            other,
            EncoderInputTrack(ToneMicrophoneTrack()),
            EncoderInputTrack(SyntheticCameraTrack(1, name, 160, 120, 15)),
            rtc_configuration([]),
            send,
            self.tracks[name].append,
            lambda state: None,
        )

    def _note_error(self, task: asyncio.Future[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(task.exception())  # type: ignore[arg-type]

    def kinds(self, name: str) -> list[str]:
        """The kinds of the signals ``name`` sent, in order (offer, answer, negotiation-needed, error)."""
        return [payload.kind for sender, payload in self.signals if sender == name]

    async def close(self) -> None:
        await asyncio.gather(self.a.close(), self.b.close())


async def video_call(people: Factory, bob_camera: int | None = 1) -> tuple[Person, Person, Call, Call]:
    """Alice (camera 1) calls Bob, who accepts with video (``bob_camera``, or none); both hear each other."""
    alice, bob = await people("Alice"), await people("Bob")
    call = alice.agent.start_call([bob.agent.identifier], video_options=await alice.camera(1))
    video_back = await bob.camera(bob_camera) if bob_camera is not None else None
    bob_call = await (await bob.agent.wait_for_incoming_call()).accept(video_options=video_back)
    await call.wait_for_state("Connected")
    await bob_call.wait_for_state("Connected")
    seen_by_bob = lambda: bool(bob_call.remote_participants and bob_call.remote_participants[0].video_streams)  # noqa: E731
    await eventually(seen_by_bob, what="Alice's video at Bob")
    await bob_call.remote_participants[0].video_streams[0].next_frame()
    if video_back is not None:
        seen_by_alice = lambda: bool(call.remote_participants and call.remote_participants[0].video_streams)  # noqa: E731
        await eventually(seen_by_alice, what="Bob's video at Alice")
        await call.remote_participants[0].video_streams[0].next_frame()
    await eventually(lambda: bob.speaker_level() > -30, what="Alice's tone at Bob's speaker")
    await eventually(lambda: alice.speaker_level() > -30, what="Bob's tone at Alice's speaker")
    return alice, bob, call, bob_call


async def one_way_video_call(people: Factory) -> tuple[Person, Person, Call, Call]:
    """``video_call`` with no video back: for tests that measure what Alice sends.

    The process encodes and decodes half as much, so a busy machine disturbs the measurement less.
    """
    return await video_call(people, bob_camera=None)


async def samples_after(collector: MediaStatsCollector, count: int) -> None:
    """Wait for ``count`` more sampling intervals to be reported."""
    seen = len({s.time for s in collector.samples})
    await eventually(lambda: len({s.time for s in collector.samples}) >= seen + count, timeout=10, what="samples")


def write_video(path: Path, seconds: float = 1.0, colour: tuple[int, int, int] = (200, 30, 30)) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libvpx", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(int(30 * seconds)):
            image = np.full((240, 320, 3), colour, dtype=np.uint8)
            image[:, (i * 8) % 320 : (i * 8) % 320 + 16] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_tone(path: Path, frequency: float = 1000.0, seconds: float = 1.0) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=48000, layout="mono")
        samples = (np.sin(np.arange(int(48000 * seconds)) / 48000 * 2 * np.pi * frequency) * 12000).astype(np.int16)
        for start in range(0, samples.size, 960):
            frame = av.AudioFrame.from_ndarray(samples[None, start : start + 960], format="s16", layout="mono")
            frame.sample_rate = 48000
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def serve(port: int, state_dir: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "labkit", "serve", "--port", str(port), "--quiet", "--state-dir", str(state_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    assert re.search(r"labkit service on http://", process.stdout.readline())
    return process


class ToneRecorder:
    """Each remote participant's decoded audio, as the speaker gets it (an audio tap, engine thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._chunks: dict[str, list[np.ndarray[Any, Any]]] = {}

    def __call__(self, user_id: str, frame: AudioFrame) -> None:
        samples = frame.to_ndarray().astype(np.float64).reshape(-1)
        mono = samples[:: len(frame.layout.channels)] / 32768
        with self._lock:
            self._chunks.setdefault(user_id, []).append(mono)

    def take(self) -> dict[str, np.ndarray[Any, Any]]:
        """What arrived from each user since the last ``take``."""
        with self._lock:
            chunks, self._chunks = self._chunks, {}
        return {user_id: np.concatenate(parts) for user_id, parts in chunks.items()}


def dominant_frequency(samples: np.ndarray[Any, Any], rate: int = 48000) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[int(np.argmax(spectrum))])


def level_dbfs(samples: np.ndarray[Any, Any]) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(samples**2)) + 1e-12))
