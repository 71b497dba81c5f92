"""labkit's receive path against aiortc's, in one run: video and audio latency, and a loss sweep.

* **Video latency** (640x480@30, capture stamp to decoded frame), p50 and p95:
  raw aiortc (two ``RTCPeerConnection``s); the bare receive path (the same, with labkit's
  ``PeerConnection``: its jitter buffers and nothing else); labkit (a whole call through
  the service); and labkit with its receivers switched to aiortc's buffers. Aims: labkit
  at most 0.3x raw aiortc, and at most 2 ms over the bare receive path.
* **Audio latency** (a tone's onset, from the microphone to the decoded frame): raw
  aiortc against the bare receive path. Aim: at most 0.7x.
* **Loss sweep** (0, 5, 10, 20, 30%): audio present, audio concealed, video frozen, for
  labkit's receive path and aiortc's (``labkit.network_lab.experiment``).

    python benchmarks/bench_receive_path.py [--seconds 5] [--sweep-seconds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame
from bench_calls import RawCall, labkit_call, latencies_of, percentile

from labkit import start_service
from labkit.calling import Features
from labkit.media.audio_level import audio_level_dbfs
from labkit.media.encoder_input import EncoderInputTrack
from labkit.media.ice import rtc_configuration
from labkit.media.microphones import SAMPLE_RATE, PacedAudioTrack
from labkit.media.peer_connection import PeerConnection
from labkit.network_lab.experiment import sweep

PULSE_EVERY = 0.5
"""Seconds between two tone onsets."""
PULSE_LENGTH = 0.2


class PulseMicrophoneTrack(PacedAudioTrack):
    """Silence, then a 1 kHz tone for 200 ms every 500 ms; notes when each onset was captured."""

    def __init__(self) -> None:
        super().__init__()
        self.onsets: list[float] = []

    def samples(self, first: int, count: int) -> npt.NDArray[np.int16]:
        index = np.arange(first, first + count)
        phase = (index / SAMPLE_RATE) % PULSE_EVERY
        on = phase < PULSE_LENGTH
        if on.any() and not ((first - 1) / SAMPLE_RATE % PULSE_EVERY < PULSE_LENGTH):
            self.onsets.append(time.monotonic() + float(np.argmax(on)) / SAMPLE_RATE)
        tone = (0.3 * 32767 * np.sin(2 * np.pi * 1000 * index / SAMPLE_RATE)).astype(np.int16)
        return np.where(on, tone, 0).astype(np.int16)


async def audio_latencies(pc_class: type[RTCPeerConnection], seconds: float) -> list[float]:
    """Onset to the first loud decoded frame, for each pulse, over ``seconds``."""
    caller, callee = pc_class(rtc_configuration()), pc_class(rtc_configuration())
    microphone = PulseMicrophoneTrack()
    caller.addTrack(microphone)
    arrived: asyncio.Queue[MediaStreamTrack] = asyncio.Queue()
    callee.on("track", arrived.put_nowait)
    callee.addTransceiver("audio", direction="recvonly")
    await caller.setLocalDescription(await caller.createOffer())
    await callee.setRemoteDescription(caller.localDescription)
    await callee.setLocalDescription(await callee.createAnswer())
    await caller.setRemoteDescription(callee.localDescription)
    track = await arrived.get()
    found: list[float] = []
    loud = False
    end = time.monotonic() + seconds + 1.0
    try:
        while time.monotonic() < end:
            frame = await track.recv()
            assert isinstance(frame, AudioFrame)
            now = time.monotonic()
            level = audio_level_dbfs(frame)
            onset = microphone.onsets[-1] if microphone.onsets else None
            fresh = onset is not None and now - onset < PULSE_EVERY / 2
            if level > -30 and not loud and fresh and onset is not None and now > end - seconds:  # past 1 s
                found.append(1000 * (now - onset))
            loud = level > -30
    except MediaStreamError:
        pass
    await caller.close()
    await callee.close()
    return found


async def video_latencies(
    pc_class: type[RTCPeerConnection], seconds: float, encoder_input: bool = False
) -> list[float]:
    call = RawCall(pc_class, EncoderInputTrack) if encoder_input else RawCall(pc_class)
    await call.connect()
    track = await call.video_at_caller.get()
    warm = time.perf_counter()
    while time.perf_counter() - warm < 1.0:
        await track.recv()
    arrivals = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        frame = await track.recv()
        arrivals.append((time.time() * 1000, frame))
    await call.close()
    return latencies_of(arrivals)


async def labkit_video_latencies(url: str, seconds: float, path: str) -> list[float]:
    clients, call, accepted, _ = await labkit_call(url)
    await call.wait_for_state("Connected")  # type: ignore[attr-defined]
    await accepted  # type: ignore[misc]
    stream = call.remote_participants[0].video_streams[0]  # type: ignore[attr-defined]
    await stream.next_frame()
    call.feature(Features.NETWORK_LAB).set_receive_path(path)  # type: ignore[attr-defined]
    await asyncio.sleep(1.0)
    arrivals = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        frame = await stream.next_frame()
        arrivals.append((time.time() * 1000, frame))
    for client in clients:
        await client.dispose()
    return latencies_of(arrivals)


def row(name: str, values: list[float]) -> tuple[str, float, float]:
    return name, statistics.median(values), percentile(values, 95)


async def main(seconds: float, sweep_seconds: float) -> None:
    service = start_service()
    try:
        video = [
            row("raw aiortc", await video_latencies(RTCPeerConnection, seconds)),
            row("bare receive path (labkit PeerConnection)", await video_latencies(PeerConnection, seconds)),
            row(
                "bare, with labkit's encoder input", await video_latencies(PeerConnection, seconds, encoder_input=True)
            ),
            row("labkit call", await labkit_video_latencies(service.url, seconds, "labkit")),
            row("labkit call, aiortc's buffers", await labkit_video_latencies(service.url, seconds, "aiortc")),
        ]
        audio = [
            row("raw aiortc", await audio_latencies(RTCPeerConnection, seconds)),
            row("bare receive path (labkit PeerConnection)", await audio_latencies(PeerConnection, seconds)),
        ]
        results = await sweep("loss", [0, 0.05, 0.1, 0.2, 0.3], sweep_seconds, ("labkit", "aiortc"), service.url)
    finally:
        service.stop()
    raw_p50 = video[0][1]
    print(f"video: 640x480@30, {seconds:g} s each; one process, loopback\n")
    print("| receive path | p50 (ms) | p95 (ms) | p50 / raw aiortc |")
    print("|---|---:|---:|---:|")
    for name, p50, p95 in video:
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {p50 / raw_p50:.2f}x |")
    print(f"\nlabkit's layers over the bare receive path: {video[3][1] - video[1][1]:+.1f} ms at p50 (aim: at most 2),")
    print(f"of which the encoder input's copy: {video[2][1] - video[1][1]:+.1f} ms")
    print(f"labkit against raw aiortc: {video[3][1] / raw_p50:.2f}x (aim: at most 0.3x)\n")
    print("audio: a tone's onset, microphone to decoded frame\n")
    print("| receive path | p50 (ms) | p95 (ms) | p50 / raw aiortc |")
    print("|---|---:|---:|---:|")
    for name, p50, p95 in audio:
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {p50 / audio[0][1]:.2f}x |")
    print(f"\nloss sweep, {sweep_seconds:g} s per point (labkit calls; aiortc: aiortc's jitter buffers)\n")
    print("| loss | path | audio present | audio concealed | video frozen (s) | frames/s | p50 (ms) |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in results:
        p50 = f"{r.latency_p50_ms:.1f}" if r.latency_p50_ms is not None else "-"
        print(
            f"| {r.value:.0%} | {r.receive_path} | {r.audio_present:.0%} | {r.audio_concealed:.0%} "
            f"| {r.freeze_seconds:.2f} | {r.frames_per_second:.1f} | {p50} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--sweep-seconds", type=float, default=4.0)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.sweep_seconds))
