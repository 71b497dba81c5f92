"""labkit's receive path on real calls: lower video latency than aiortc's, and audio that survives loss."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from typing import Any

import numpy as np
import pytest
from av import AudioFrame

from labkit import Call, RemoteVideoStream
from labkit.calling import Features
from labkit.media import frame_code
from labkit.media.rgb import rgb_image
from labkit.network_lab import NetworkConditions, NetworkLabFeature

from ..helpers import Factory, eventually, one_way_video_call, state_of


def lab(call: Call) -> NetworkLabFeature:
    feature = call.feature(Features.NETWORK_LAB)
    assert isinstance(feature, NetworkLabFeature)
    return feature


async def latencies(stream: RemoteVideoStream, seconds: float) -> list[float]:
    """Capture-to-arrival time of each decoded frame, from the synthetic camera's stamps."""
    found: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        frame = await stream.next_frame()
        arrived = time.time() * 1000
        stamp = frame_code.decode(rgb_image(frame))
        if stamp is not None:
            found.append((arrived - stamp.capture_time_ms) % 2**32)
    return found


async def test_video_latency_is_under_half_of_aiortcs_receive_path(people: Factory) -> None:
    _, _, _, bob_call = await one_way_video_call(people)
    stream = bob_call.remote_participants[0].video_streams[0]
    await asyncio.sleep(1.0)  # past the bitrate ramp-up
    ours = await latencies(stream, 3.0)
    lab(bob_call).set_receive_path("aiortc")
    await asyncio.sleep(1.0)
    theirs = await latencies(stream, 3.0)
    lab(bob_call).set_receive_path("labkit")
    await asyncio.sleep(1.0)
    again = await latencies(stream, 2.0)
    # enough stamped frames for a median (30 fps gives 90 and 60; a busy machine sends fewer)
    assert len(ours) >= 30
    assert len(theirs) >= 30
    assert len(again) >= 20
    print(
        f"\nmedian e2e video latency: labkit {statistics.median(ours):.1f}, aiortc {statistics.median(theirs):.1f} ms"
    )
    assert statistics.median(ours) < 0.5 * statistics.median(theirs)
    assert statistics.median(again) < 0.5 * statistics.median(theirs)
    video = lab(bob_call).receive_stats()["video"]
    assert video.path == "labkit"
    assert video.jitter_buffer.jitter_buffer_emitted_count > 100


class AudioRecorder:
    """The far end's decoded audio, as its speaker gets it (an audio tap, on the engine thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._chunks: list[np.ndarray[Any, Any]] = []
        self.recording = False

    def __call__(self, _user_id: str, frame: AudioFrame) -> None:
        if not self.recording:
            return
        samples = frame.to_ndarray().astype(np.float64).reshape(-1)
        channels = len(frame.layout.channels)
        mono = samples[::channels] / 32768
        with self._lock:
            self._chunks.append(mono)

    def take(self) -> np.ndarray[Any, Any]:
        with self._lock:
            chunks, self._chunks = self._chunks, []
        return np.concatenate(chunks) if chunks else np.zeros(0)


def presence(samples: np.ndarray[Any, Any], window: int = 960) -> float:
    """The share of 20 ms windows above -60 dBFS."""
    chunks = [samples[i : i + window] for i in range(0, len(samples) - window + 1, window)]
    return float(sum(20 * np.log10(np.sqrt(np.mean(c**2)) + 1e-12) > -60 for c in chunks) / max(1, len(chunks)))


def dominant_frequency(samples: np.ndarray[Any, Any]) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / 48000)[int(np.argmax(spectrum))])


async def record(recorder: AudioRecorder, seconds: float) -> np.ndarray[Any, Any]:
    recorder.take()
    recorder.recording = True
    await asyncio.sleep(seconds)
    recorder.recording = False
    return recorder.take()


async def test_at_30_percent_loss_audio_is_present_95_percent_of_15_seconds(people: Factory) -> None:
    _, _, call, bob_call = await one_way_video_call(people)
    recorder = AudioRecorder()
    bob_call.media.engine.call_soon(bob_call.media.add_audio_tap, recorder)
    clean = await record(recorder, 1.0)
    tone = dominant_frequency(clean)
    lab(call).set(NetworkConditions(loss=0.3), direction="send")
    await asyncio.sleep(0.5)
    lossy = await record(recorder, 15.0)
    assert lossy.size >= 14 * 48000, "the far end should play out all along"
    share = presence(lossy)
    print(f"\naudio present {share:.1%} of 15 s at 30% loss")
    assert share >= 0.95
    assert dominant_frequency(lossy) == pytest.approx(tone, abs=5)
    audio = lab(bob_call).receive_stats()["audio"].jitter_buffer
    assert audio.healed_ratio == pytest.approx(0.3 * 15.5 / 16.5, abs=0.06)  # 1 s of it was clean
    assert audio.concealment_events > 100
    assert state_of(call).value == "Connected"


async def test_at_10_percent_loss_video_freezes_under_1_second_in_10(people: Factory) -> None:
    _, _, call, bob_call = await one_way_video_call(people)
    stream = bob_call.remote_participants[0].video_streams[0]
    lab(call).set(NetworkConditions(loss=0.1), direction="send")
    await asyncio.sleep(1.0)
    frozen, decoded = stream.total_freeze_duration, stream.frames_received
    await asyncio.sleep(10.0)
    frozen = stream.total_freeze_duration - frozen
    decoded = stream.frames_received - decoded
    video = lab(bob_call).receive_stats()["video"]
    print(
        f"\n10% loss: {frozen:.2f} s frozen in 10 s, {decoded} frames, {video.nack_count} NACKs, {video.pli_count} PLIs"
    )
    assert frozen < 1.0
    assert decoded > 150
    assert video.nack_count > 10  # the losses were repaired by retransmission


async def test_the_jitter_buffer_target_knob_shows_in_the_stats(people: Factory) -> None:
    _, _, _, bob_call = await one_way_video_call(people)
    stats = bob_call.feature(Features.MEDIA_STATS).create_collector(sample_interval=0.5)
    stream = bob_call.remote_participants[0].video_streams[0]

    def latest(kind: str, metric: str) -> float:
        sample = next(
            (s for s in reversed(stats.samples) if (s.direction.value, s.kind.value) == ("receive", kind)), None
        )
        value = sample.metrics.get(metric) if sample is not None else None
        return float(value) if isinstance(value, float) else -1.0

    await eventually(lambda: latest("audio", "jitter_buffer_in_ms") >= 0, timeout=5, what="a jitter-buffer sample")
    assert latest("audio", "jitter_buffer_in_ms") < 80  # small on a clean loopback (40 ms seen under load)
    assert latest("video", "jitter_buffer_in_ms") < 20
    lab(bob_call).set_jitter_buffer_target(150)
    await asyncio.sleep(3.0)
    assert latest("audio", "jitter_buffer_target_in_ms") == pytest.approx(150, abs=1)
    assert latest("audio", "jitter_buffer_in_ms") == pytest.approx(150, abs=30)
    assert latest("video", "jitter_buffer_in_ms") == pytest.approx(150, abs=30)
    delayed = await latencies(stream, 2.0)
    assert statistics.median(delayed) > 140
    assert latest("audio", "healed_ratio") == pytest.approx(0.0, abs=0.01)
    await stats.dispose()
