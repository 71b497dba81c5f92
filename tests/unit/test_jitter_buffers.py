"""labkit's jitter buffers on a manual clock: real RTP packets and real Opus/VP8 payloads in, what comes out checked."""

from __future__ import annotations

import fractions
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
import pytest
from aiortc.codecs import depayload
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from labkit.media.audio_jitter_buffer import AudioJitterBuffer
from labkit.media.jitter_buffer import Unwrapper
from labkit.media.video_jitter_buffer import STALL_WAIT, VideoJitterBuffer

DEPAYLOADED = "_data"
"""Where aiortc's receiver puts a packet's depayloaded bytes before its jitter buffer sees it."""
VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)


@dataclass(order=True)
class _Timer:
    when: float
    order: int
    callback: Callable[[], object] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class ManualScheduler:
    """``time()`` and ``call_at`` as an event loop has them, on a clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0
        self._timers: list[_Timer] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], object], /) -> _Timer:
        timer = _Timer(when, next(self._order), callback)
        heapq.heappush(self._timers, timer)
        return timer

    def advance_to(self, when: float) -> None:
        while self._timers and self._timers[0].when <= when:
            timer = heapq.heappop(self._timers)
            self.now = max(self.now, timer.when)
            if not timer.cancelled:
                timer.callback()
        self.now = max(self.now, when)


# --- video -------------------------------------------------------------------------------


def vp8_frames(count: int, keyframe_every: int = 1000) -> list[list[RtpPacket]]:
    """``count`` real VP8 frames of a moving picture, packetized as aiortc sends them (several packets each)."""
    encoder = Vp8Encoder()
    frames = []
    seq = 1000
    rng = np.random.default_rng(1)
    for index in range(count):
        image = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = index * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        payloads, timestamp = encoder.encode(frame, force_keyframe=index % keyframe_every == 0)
        packets = []
        for number, payload in enumerate(payloads):
            packet = RtpPacket(payload_type=96, sequence_number=seq % 65536, timestamp=timestamp, ssrc=1234)
            packet.payload = payload
            packet.marker = int(number == len(payloads) - 1)
            setattr(packet, DEPAYLOADED, depayload(VP8, payload))  # as aiortc's receiver does
            packets.append(packet)
            seq += 1
        frames.append(packets)
    return frames


class VideoBench:
    def __init__(self, target_ms: float = 0.0) -> None:
        self.clock = ManualScheduler()
        self.out: list[tuple[float, JitterFrame]] = []
        self.keyframe_requests = 0
        self.nacks: list[tuple[float, list[int]]] = []
        self.buffer = VideoJitterBuffer(
            self._deliver,
            self._request,
            self.clock,
            "vp8",
            target_ms,
            nack=lambda lost: self.nacks.append((self.clock.now, lost)),
        )

    def _deliver(self, frame: JitterFrame) -> None:
        self.out.append((self.clock.now, frame))

    def _request(self) -> None:
        self.keyframe_requests += 1

    def _nack(self, lost: list[int]) -> None:
        self.nacks.append((self.clock.now, lost))

    def feed(self, packets: list[RtpPacket], at: float | None = None) -> None:
        if at is not None:
            self.clock.advance_to(at)
        for packet in packets:
            self.buffer.add(packet)

    def timestamps(self) -> list[int]:
        return [frame.timestamp for _, frame in self.out]


@pytest.fixture(scope="module")
def frames() -> list[list[RtpPacket]]:
    made = vp8_frames(12, keyframe_every=6)
    assert all(len(packets) > 1 for packets in made), "each frame should span several packets"
    return made


def test_a_frame_is_released_on_its_last_packet_not_on_the_next_frame(frames: list[list[RtpPacket]]) -> None:
    bench = VideoBench()
    first = frames[0]
    bench.feed(first[:-1])
    assert bench.out == []
    bench.feed(first[-1:])
    assert bench.timestamps() == [first[0].timestamp]
    assert bench.out[0][1].data == b"".join(getattr(p, DEPAYLOADED) for p in first)


def test_a_frame_with_a_hole_waits_for_the_retransmission(frames: list[list[RtpPacket]]) -> None:
    bench = VideoBench()
    bench.feed(frames[0])
    second, third = frames[1], frames[2]
    bench.feed(second[:1] + second[2:] + third)  # second[1] lost
    assert bench.timestamps() == [frames[0][0].timestamp]  # the third waits behind the hole, in decoding order
    bench.feed([second[1]], at=bench.clock.now + 0.05)  # the NACKed packet comes back
    assert bench.timestamps() == [f[0].timestamp for f in frames[:3]]
    assert bench.buffer.stats.frames_dropped == 0


def test_a_hole_is_nacked_again_until_it_is_repaired(frames: list[list[RtpPacket]]) -> None:
    bench = VideoBench()
    bench.feed(frames[0])
    second = frames[1]
    bench.feed(second[:1] + second[2:] + frames[2])  # second[1] lost, and its first retransmission too
    start = bench.clock.now
    bench.clock.advance_to(start + 0.17)
    assert [round(when - start, 2) for when, _ in bench.nacks] == [
        0.0,
        0.04,
        0.12,
    ]  # at the gap, then backing off
    assert all(lost == [second[1].sequence_number] for _, lost in bench.nacks)
    bench.feed([second[1]])
    bench.clock.advance_to(start + 0.5)
    assert len(bench.nacks) == 3  # repaired: no more NACKs, and nothing given up
    assert bench.timestamps() == [f[0].timestamp for f in frames[:3]]
    assert bench.keyframe_requests == 0


def test_an_unrepaired_hole_is_given_up_and_a_keyframe_is_awaited(frames: list[list[RtpPacket]]) -> None:
    bench = VideoBench()
    bench.feed(frames[0])
    bench.feed(frames[1][1:] + frames[2] + frames[3])  # frames[1]'s first packet never comes
    bench.clock.advance_to(bench.clock.now + 0.31)
    assert bench.keyframe_requests == 1
    assert bench.timestamps() == [frames[0][0].timestamp]  # nothing after the hole until a keyframe
    bench.feed(frames[4] + frames[5])  # not keyframes either
    assert len(bench.out) == 1
    bench.feed(frames[6] + frames[7])  # frames[6] is a keyframe
    assert bench.timestamps() == [frames[0][0].timestamp, frames[6][0].timestamp, frames[7][0].timestamp]
    assert bench.buffer.stats.frames_dropped >= 3


def test_a_frame_whose_end_comes_late_is_waited_for_not_given_up(frames: list[list[RtpPacket]]) -> None:
    bench = VideoBench()
    bench.feed(frames[0])
    late = frames[2]
    bench.feed(frames[1] + late[:1])  # a frame's first packet, then nothing for 0.8 s: a stall
    bench.feed(late[1:] + frames[3], at=bench.clock.now + 0.8)
    assert bench.timestamps() == [f[0].timestamp for f in frames[:4]]
    assert bench.buffer.stats.frames_dropped == 0
    assert bench.keyframe_requests == 0
    assert bench.nacks == []  # nothing was missing between packets
    # a stall that outlasts STALL_WAIT is given up, and a keyframe is asked for
    bench.feed(frames[4][:1])
    bench.clock.advance_to(bench.clock.now + STALL_WAIT + 0.01)
    assert bench.keyframe_requests == 1
    assert bench.buffer.stats.frames_dropped == 1


def test_a_keyframe_with_a_hole_is_repaired_or_asked_for_again(frames: list[list[RtpPacket]]) -> None:
    bench = VideoBench()
    bench.feed(frames[0])
    bench.feed(frames[1][1:] + frames[2])  # a hole that will never be repaired
    bench.clock.advance_to(bench.clock.now + 0.31)
    assert bench.keyframe_requests == 1
    keyframe = frames[6]
    bench.feed(keyframe[:1] + keyframe[2:] + frames[7])  # the keyframe comes, one of its packets lost
    nacked = len(bench.nacks)
    bench.clock.advance_to(bench.clock.now + 0.1)
    assert len(bench.nacks) > nacked
    assert bench.nacks[-1][1] == [keyframe[1].sequence_number]  # its hole is asked for again and again
    bench.clock.advance_to(bench.clock.now + 0.3)  # never repaired: given up, and another keyframe asked for
    bench.feed(frames[8])
    assert bench.keyframe_requests == 2
    assert bench.timestamps() == [frames[0][0].timestamp]


def test_a_late_packet_never_reaches_a_released_frame(frames: list[list[RtpPacket]]) -> None:
    bench = VideoBench()
    bench.feed(frames[0] + frames[1])
    bench.feed([frames[0][1], frames[1][0]])  # duplicates of released packets
    assert len(bench.out) == 2
    assert bench.buffer.stats.packets_discarded == 2


def test_reordered_packets_make_the_same_frames(frames: list[list[RtpPacket]]) -> None:
    bench = VideoBench()
    for packets in frames[:4]:
        bench.feed(list(reversed(packets)))
    assert bench.timestamps() == [f[0].timestamp for f in frames[:4]]


def test_a_target_delay_holds_frames_until_their_playout_time(frames: list[list[RtpPacket]]) -> None:
    bench = VideoBench(target_ms=100)
    start = bench.clock.now
    for index, packets in enumerate(frames[:3]):
        bench.feed(packets, at=start + index / 30)
    assert bench.out == []
    bench.clock.advance_to(start + 0.2)
    released = [when - start for when, _ in bench.out]
    assert released == pytest.approx([0.1, 0.1 + 1 / 30, 0.1 + 2 / 30], abs=0.002)
    assert bench.buffer.stats.mean_delay_ms == pytest.approx(100, abs=2)


def test_sequence_numbers_wrap() -> None:
    unwrap = Unwrapper(16)
    values = [unwrap(n) for n in (65534, 65535, 0, 1, 65535, 2)]
    assert [v - values[0] for v in values] == [0, 1, 2, 3, 1, 4]


# --- audio -------------------------------------------------------------------------------


def opus_packets(seconds: float, frequency: float = 440.0) -> list[RtpPacket]:
    encoder = av.CodecContext.create("libopus", "w")
    encoder.bit_rate = 64000
    encoder.format = "s16"
    encoder.layout = "stereo"
    encoder.sample_rate = 48000
    encoder.time_base = fractions.Fraction(1, 48000)
    total = int(seconds * 48000)
    t = np.arange(total) / 48000
    tone = (0.3 * 32767 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)
    payloads: list[bytes] = []
    for start in range(0, total, 960):
        frame = av.AudioFrame.from_ndarray(
            np.repeat(tone[start : start + 960], 2).reshape(1, -1), format="s16", layout="stereo"
        )
        frame.sample_rate = 48000
        frame.pts = start
        payloads += [bytes(p) for p in encoder.encode(frame)]
    packets = []
    for index, payload in enumerate(payloads):
        packet = RtpPacket(payload_type=111, sequence_number=index, timestamp=5000 + index * 960, ssrc=99)
        packet.payload = payload
        packets.append(packet)
    return packets


class AudioBench:
    def __init__(self, target_ms: float | None = None) -> None:
        self.clock = ManualScheduler()
        self.pcm: list[tuple[float, bytes]] = []
        self.buffer = AudioJitterBuffer(lambda pcm, _pts: self.pcm.append((self.clock.now, pcm)), self.clock, target_ms)

    def run(self, packets: list[Any], arrival: Callable[[int], float | None], tail: float = 0.3) -> None:
        """Deliver packet ``i`` at ``arrival(i)`` seconds from now (``None``: lost), and play out until the end."""
        start = self.clock.now
        schedule = sorted((when, i) for i in range(len(packets)) if (when := arrival(i)) is not None)
        for when, index in schedule:
            self.clock.advance_to(start + when)
            self.buffer.add(packets[index])
        self.clock.advance_to(self.clock.now + tail)

    def samples(self) -> np.ndarray[Any, Any]:
        return np.frombuffer(b"".join(p for _, p in self.pcm), dtype=np.int16)[::2].astype(float) / 32768


def present(samples: np.ndarray[Any, Any], window: int = 960) -> float:
    """The share of 20 ms windows above -60 dBFS."""
    chunks = [samples[i : i + window] for i in range(0, len(samples) - window, window)]
    return float(sum(20 * np.log10(np.sqrt(np.mean(c**2)) + 1e-12) > -60 for c in chunks) / len(chunks))


def test_audio_plays_out_at_a_steady_20_ms_with_a_small_delay() -> None:
    packets = opus_packets(2.0)
    bench = AudioBench()
    bench.run(packets, lambda i: i * 0.02, tail=0.02)  # the last packet has played, nothing after it yet
    assert len(bench.pcm) == len(packets)
    gaps = np.diff([when for when, _ in bench.pcm[: len(packets)]])
    assert gaps == pytest.approx(0.02, abs=1e-6)
    assert bench.buffer.stats.mean_delay_ms < 25
    assert bench.buffer.stats.concealed_samples == 0


def test_lost_audio_is_concealed_so_the_tone_goes_on() -> None:
    packets = opus_packets(4.0)
    rng = np.random.default_rng(7)
    lost = set(np.flatnonzero(rng.random(len(packets)) < 0.3).tolist())
    bench = AudioBench()
    bench.run(packets, lambda i: None if i in lost else i * 0.02)
    samples = bench.samples()
    assert present(samples[4800:]) >= 0.95
    spectrum = np.abs(np.fft.rfft(samples[4800:]))
    assert np.argmax(spectrum) * 48000 / len(samples[4800:]) == pytest.approx(440, abs=3)
    stats = bench.buffer.stats
    assert stats.healed_ratio == pytest.approx(len(lost) / len(packets), abs=0.05)
    assert stats.concealment_events > 10


def test_the_delay_grows_with_jitter_and_follows_the_target_knob() -> None:
    packets = opus_packets(6.0)
    rng = np.random.default_rng(3)
    jitter = rng.uniform(0, 0.06, len(packets))
    bench = AudioBench()
    bench.run(packets, lambda i: i * 0.02 + float(jitter[i]))
    assert bench.buffer.jitter > 0.04
    late_share = bench.buffer.stats.packets_discarded / len(packets)
    assert late_share < 0.15  # the buffer grew to hold most jittered packets
    fixed = AudioBench(target_ms=120)
    fixed.run(packets, lambda i: i * 0.02 + float(jitter[i]))
    assert fixed.buffer.stats.packets_discarded == 0
    assert fixed.buffer.stats.mean_delay_ms > bench.buffer.stats.mean_delay_ms


def test_playout_pauses_when_packets_stop_and_resumes_when_they_come_back() -> None:
    packets = opus_packets(2.0)
    bench = AudioBench()
    bench.run(packets[:40], lambda i: i * 0.02)
    bench.clock.advance_to(bench.clock.now + 2.0)
    emitted = len(bench.pcm)
    assert emitted < 40 + 0.6 / 0.02  # stopped about half a second after the last packet
    bench.run(packets[60:], lambda i: i * 0.02)
    assert len(bench.pcm) > emitted + 35


def test_timestamps_off_the_first_packets_grid_still_play() -> None:
    """GStreamer's first Opus packet is 312 samples before the 960-sample grid of the rest."""
    packets = opus_packets(2.0)
    for packet in packets[1:]:
        packet.timestamp -= 312
    bench = AudioBench()
    bench.run(packets, lambda i: i * 0.02, tail=0.02)
    assert bench.buffer.stats.concealed_samples == 0
    assert present(bench.samples()[960:]) == 1.0
