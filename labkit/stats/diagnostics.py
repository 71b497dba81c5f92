"""User-facing diagnostics: what is wrong with the call, in terms a person can act on.

ACS: ``call.feature(Features.UserFacingDiagnostics)``, with ``.network`` and ``.media``,
each raising ``diagnostic_changed`` and answering ``get_latest()``. labkit evaluates
them every 0.5 s on the engine thread, from the media stats and the call's own state.

**Network quality** (``network_receive_quality``, ``network_send_quality``) is the worst
over the remote participants of three measures. Each is Good below the first threshold,
Poor from there, and Bad from the second:

=================  ======  =====
measure            Poor    Bad
=================  ======  =====
packet loss        3 %     10 %
jitter             30 ms   100 ms
round-trip time    200 ms  500 ms
=================  ======  =====

Receive quality uses what this side receives (its own loss and jitter counts). Send
quality uses what the peers report back in RTCP (their loss and jitter of our packets).
Both use the RTT. Loss is counted over the last ``LOSS_WINDOW`` seconds, so that one
lost packet in half a second of audio (4 %) is not already Poor.

**This computer or the network?** (labkit) A starved process delays every packet it
handles, so its RTT, jitter and even loss look like a bad network, on loopback too.
``cpu_overloaded`` (a media diagnostic) turns on when the media engine's loop runs more
than ``OVERLOAD_LAG`` late (``MediaEngine.loop_lag``), or when the video encoder keeps up
with less than ``ENCODER_BEHIND`` of its frames (W3C's ``qualityLimitationReason: cpu``).
While it is on, and for ``OVERLOAD_GRACE`` seconds after (the running averages it
inflated take that long to decay), the network qualities are not judged: they keep their
last value, and the person is told to close other work rather than to change networks.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Literal

from ..calling.event_emitter import Emitter, EventDispatcher
from ..calling.features import Features, register_feature
from ..states import CallState
from .collector import MediaStatsCollector, MediaStatsReport, MediaStatsSample

if TYPE_CHECKING:
    from ..calling.call import Call

THRESHOLDS: dict[str, tuple[float, float]] = {
    "loss": (0.03, 0.10),
    "jitter_in_ms": (30.0, 100.0),
    "rtt_in_ms": (200.0, 500.0),
}
"""(Poor from, Bad from) for each network measure; loss is a fraction of packets."""
SPEAKING_LEVEL_DBFS = -40.0
"""A muted microphone above this level is 'speaking while muted'."""
STALL_SECONDS = 2.0
"""No frames from the camera (or microphone) for this long is a freeze (or a failure)."""
OVERLOAD_LAG = 0.1
"""The engine's loop this late (s) means this computer, not the network, slows the call."""
OVERLOAD_GRACE = 3.0
"""Seconds after an overload before the network is judged again: the RTCP jitter and RTT it inflated decay."""
ENCODER_BEHIND = 0.6
"""An encoder that compresses less than this share of the frames it should is short of CPU."""
EVALUATION_INTERVAL = 0.5
LOSS_WINDOW = 2.0
"""Seconds of packets over which the loss fraction is counted."""


class DiagnosticQuality(IntEnum):
    """ACS: ``DiagnosticQuality``."""

    GOOD = 1
    POOR = 2
    BAD = 3


DiagnosticValue = DiagnosticQuality | bool


@dataclass(frozen=True, slots=True)
class DiagnosticChanged:
    """ACS: ``DiagnosticChangedEventArgs``."""

    diagnostic: str
    value: DiagnosticValue
    value_type: Literal["DiagnosticQuality", "DiagnosticFlag"]


NETWORK_DIAGNOSTICS: dict[str, DiagnosticValue] = {
    "network_receive_quality": DiagnosticQuality.GOOD,
    "network_send_quality": DiagnosticQuality.GOOD,
    "network_reconnect": DiagnosticQuality.GOOD,
    "no_network": False,
}
MEDIA_DIAGNOSTICS: dict[str, DiagnosticValue] = {
    "speaking_while_microphone_is_muted": False,
    "no_speaker_devices_enumerated": False,
    "no_microphone_devices_enumerated": False,
    "camera_freeze": False,
    "camera_start_failed": False,
    "microphone_not_functioning": False,
    "camera_permission_denied": False,
    "microphone_permission_denied": False,
    "cpu_overloaded": False,
}


DiagnosticsEventName = Literal["diagnostic_changed"]
"""The events of ``DiagnosticsGroup``."""


class DiagnosticsGroup(Emitter[DiagnosticsEventName]):
    """One family of diagnostics (ACS: ``ufd.network`` or ``ufd.media``)."""

    def __init__(self, dispatcher: EventDispatcher, initial: dict[str, DiagnosticValue]) -> None:
        super().__init__(dispatcher)
        self._values = dict(initial)

    def get_latest(self) -> dict[str, DiagnosticValue]:
        """Every diagnostic of the group and its current value. ACS: ``getLatest()``."""
        return dict(self._values)

    def update(self, name: str, value: DiagnosticValue) -> None:
        """Set ``name`` and raise ``diagnostic_changed`` if it changed (the evaluation calls it)."""
        if self._values.get(name) != value:
            self._values[name] = value
            kind: Literal["DiagnosticQuality", "DiagnosticFlag"] = (
                "DiagnosticFlag" if isinstance(value, bool) else "DiagnosticQuality"
            )
            self.emit("diagnostic_changed", DiagnosticChanged(name, value, kind))


def quality(loss: float, jitter_in_ms: float, rtt_in_ms: float) -> DiagnosticQuality:
    """The quality the thresholds give these measures."""
    worst = DiagnosticQuality.GOOD
    for measure, value in (("loss", loss), ("jitter_in_ms", jitter_in_ms), ("rtt_in_ms", rtt_in_ms)):
        poor, bad = THRESHOLDS[measure]
        level = DiagnosticQuality.BAD if value >= bad else DiagnosticQuality.POOR if value >= poor else worst
        worst = max(worst, level)
    return worst


def _number(sample: MediaStatsSample | None, metric: str) -> float:
    value = sample.metrics.get(metric) if sample is not None else None
    return float(value) if isinstance(value, int | float) else 0.0


class UserFacingDiagnosticsFeature:
    """``call.feature(Features.USER_FACING_DIAGNOSTICS)``: ``network`` and ``media`` diagnostics."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self._media = call.media
        self.network = DiagnosticsGroup(call.media.dispatcher, NETWORK_DIAGNOSTICS)
        self.media = DiagnosticsGroup(call.media.dispatcher, MEDIA_DIAGNOSTICS)
        self._collector = MediaStatsCollector(call, EVALUATION_INTERVAL, summary_interval=float("inf"))
        self._collector.listeners.append(self._evaluate)
        self._ever_connected = False
        self._overloaded_at = float("-inf")
        self._loss_counts: dict[tuple[str, str], deque[tuple[float, float]]] = {}

    def get_latest(self) -> dict[str, DiagnosticValue]:
        """Network and media diagnostics together."""
        return {**self.network.get_latest(), **self.media.get_latest()}

    async def dispose(self) -> None:
        await self._collector.dispose()

    def on_participants_changed(self) -> None:
        """Nothing to do: each evaluation sees the participants anew (CallFeature hook)."""

    def on_call_ended(self) -> None:
        """Stop evaluating (CallFeature hook)."""
        self._collector.stop_sampling()

    # --- engine side ----------------------------------------------------------------------

    def _evaluate(self, report: MediaStatsReport) -> None:
        overloaded = self._overloaded(report)
        self.media.update("cpu_overloaded", overloaded)
        now = time.monotonic()
        if overloaded:
            self._overloaded_at = now
            self._loss_counts.clear()  # what a starved process lost says nothing of the network
        self._evaluate_network(report, judge_quality=now - self._overloaded_at > OVERLOAD_GRACE)
        self._evaluate_media()

    def _overloaded(self, report: MediaStatsReport) -> bool:
        """This computer is too busy for the call: the engine runs late, or the encoder falls behind."""
        if self._media.engine.loop_lag() > OVERLOAD_LAG:
            return True
        for sample in report.samples:
            if sample.direction.value != "send" or sample.kind.value != "video":
                continue
            link = self._media.links.get(sample.participant_id)
            encoder = link.encoder_inputs.get("video") if link is not None else None
            limit = encoder.constraints.max_frame_rate if encoder is not None else None
            expected = min(_number(sample, "frame_rate_input"), limit or float("inf"))
            if expected >= 10 and _number(sample, "frame_rate_encoded") < ENCODER_BEHIND * expected:
                return True
        return False

    def _evaluate_network(self, report: MediaStatsReport, judge_quality: bool = True) -> None:
        receive, send = DiagnosticQuality.GOOD, DiagnosticQuality.GOOD
        for participant in {s.participant_id for s in report.samples}:
            by = {(s.direction.value, s.kind.value): s for s in report.samples if s.participant_id == participant}
            rtt = max(_number(by.get(("send", k)), "rtt_in_ms") for k in ("audio", "video"))
            for direction in ("receive", "send"):
                packets = sum(_number(by.get((direction, k)), "packets_per_second") for k in ("audio", "video"))
                lost = sum(_number(by.get((direction, k)), "packets_lost_per_second") for k in ("audio", "video"))
                jitter = max(_number(by.get((direction, k)), "jitter_in_ms") for k in ("audio", "video"))
                total = packets + lost if direction == "receive" else packets
                counts = self._loss_counts.setdefault(
                    (participant, direction), deque(maxlen=max(1, round(LOSS_WINDOW / EVALUATION_INTERVAL)))
                )
                counts.append((lost, total))
                window_total = sum(t for _, t in counts)
                loss = sum(n for n, _ in counts) / window_total if window_total > 0 else 0.0
                level = quality(loss, jitter, rtt)
                if direction == "receive":
                    receive = max(receive, level)
                else:
                    send = max(send, level)
        if judge_quality:
            self.network.update("network_receive_quality", receive)
            self.network.update("network_send_quality", send)
        links = self._media.links.values()
        states = [link.connection_state for link in links]
        self._ever_connected = self._ever_connected or "connected" in states
        stalled = any(link.is_stalled for link in links)  # connected, but nothing arrives
        reconnecting = stalled or (
            self._ever_connected and any(state in ("disconnected", "connecting") for state in states)
        )
        self.network.update("network_reconnect", DiagnosticQuality.BAD if reconnecting else DiagnosticQuality.GOOD)
        signaling_down = not self._media.is_service_connected
        media_down = bool(states) and all(state in ("failed", "closed") for state in states)
        self.network.update("no_network", signaling_down or media_down)

    def _evaluate_media(self) -> None:
        call, now = self.call, time.monotonic()
        devices = call.device_manager
        audio, video = self._media.audio_feed, self._media.video_feed
        self.media.update("no_microphone_devices_enumerated", not devices.has_microphones)
        self.media.update("no_speaker_devices_enumerated", not devices.has_speakers)
        self.media.update("camera_permission_denied", devices.permission_denied("video"))
        self.media.update("microphone_permission_denied", devices.permission_denied("audio"))
        sending = call.state in (CallState.CONNECTED, CallState.REMOTE_HOLD) and any(
            link.connection_state == "connected" for link in self._media.links.values()
        )
        speaking = audio is not None and call.is_muted and audio.input_meter.level() > SPEAKING_LEVEL_DBFS
        self.media.update("speaking_while_microphone_is_muted", speaking)
        microphone_broken = audio is not None and (
            audio.source_failed or (audio.source is not None and sending and _stale(audio.last_frame_at, now))
        )
        self.media.update("microphone_not_functioning", microphone_broken)
        stream = self._media.video_stream
        start_failed = stream is not None and stream.camera_failed and stream.camera_frames == 0
        self.media.update("camera_start_failed", start_failed)
        frozen = (
            stream is not None
            and video is not None
            and sending
            and not start_failed
            and _stale(video.last_frame_at, now)
        )
        self.media.update("camera_freeze", frozen)


def _stale(last: float | None, now: float) -> bool:
    return last is not None and now - last > STALL_SECONDS


register_feature(Features.USER_FACING_DIAGNOSTICS, UserFacingDiagnosticsFeature)
