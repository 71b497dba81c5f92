"""Experiments: sweep one network condition over real calls and measure what the far end gets (labkit).

Each point is a fresh 1:1 video call between two headless agents on an embedded service
(or ``endpoint``): Alice sends a 640x480@30 synthetic camera and a tone through the
conditions, and Bob (who sends only his voice back) measures, over ``seconds``:

* video: frames per second decoded, freeze time (W3C: a gap above max(3 x the mean
  frame interval, mean + 150 ms)), end-to-end latency p50 and p95 (capture stamps);
* audio: the share of the time it played above -60 dBFS, and the share of samples
  concealed (ACS ``healedRatio``);
* repair: NACKs and PLIs Bob sent.

    results = await sweep("loss", [0, 0.05, 0.1, 0.2, 0.3], seconds=4)
    to_dataframe(results); write_csv(results, "loss.csv"); plot_sweep(results)

The same sweep runs from a shell: ``labkit experiment --vary loss --values 0,0.1,0.3``.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from av import AudioFrame

from ..calling import CallClient, Features, LocalVideoStream
from ..errors import ArgumentError
from ..media import frame_code
from ..media.audio_level import audio_level_dbfs
from ..media.network_conditions import GilbertElliott, NetworkConditions
from ..media.receive_path import PATHS
from ..media.receive_path import Path as ReceivePath
from ..media.rgb import rgb_image
from ..protocol.signaling_client import request_token
from .network_lab_feature import NetworkLabFeature

if TYPE_CHECKING:
    import pandas
    from matplotlib.figure import Figure

    from ..calling import Call, RemoteVideoStream

Parameter = Literal["loss", "burst_loss", "delay_ms", "jitter_ms", "bandwidth_kbps", "duplicate"]
PARAMETERS: Final[tuple[Parameter, ...]] = (
    "loss",
    "burst_loss",
    "delay_ms",
    "jitter_ms",
    "bandwidth_kbps",
    "duplicate",
)
UNITS: Final[dict[str, str]] = {
    "loss": "share of packets",
    "burst_loss": "share of packets, in bursts",
    "delay_ms": "ms",
    "jitter_ms": "ms",
    "bandwidth_kbps": "kbit/s",
    "duplicate": "share of packets",
}
MEAN_BURST: Final = 4
"""Datagrams a loss burst lasts on average (``burst_loss``)."""
SETTLE: Final = 1.0
"""Seconds between setting the conditions and measuring."""


@dataclass(frozen=True, slots=True)
class ExperimentResult:
    """One point of a sweep: the condition, and what the far end measured."""

    parameter: str
    value: float
    receive_path: str
    seconds: float
    frames_per_second: float
    freeze_seconds: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    audio_present: float
    """Share of the time audio above -60 dBFS played at the far end."""
    audio_concealed: float
    """Share of audio samples concealed (ACS ``healedRatio``); 0.0 on aiortc's path, which conceals nothing."""
    nacks: int
    plis: int


def conditions_for(parameter: Parameter, value: float) -> NetworkConditions:
    """The ``NetworkConditions`` that set ``parameter`` to ``value`` (``burst_loss``: Gilbert-Elliott bursts)."""
    if parameter not in PARAMETERS:
        raise ArgumentError(f"Sweep one of {', '.join(PARAMETERS)}, not {parameter!r}.")
    if parameter == "burst_loss":
        if not 0 <= value < 1:
            raise ArgumentError(f"burst_loss is a mean loss from 0 to below 1, not {value}.")
        r = 1 / MEAN_BURST  # bursts of MEAN_BURST datagrams on average, as often as the mean loss needs
        return NetworkConditions(burst=GilbertElliott(p=r * value / (1 - value), r=r)) if value else NetworkConditions()
    if parameter == "loss":
        return NetworkConditions(loss=value)
    if parameter == "delay_ms":
        return NetworkConditions(delay_ms=value)
    if parameter == "jitter_ms":
        return NetworkConditions(jitter_ms=value)
    if parameter == "duplicate":
        return NetworkConditions(duplicate=value)
    return NetworkConditions(bandwidth_kbps=value if value > 0 else None)


async def sweep(
    parameter: Parameter,
    values: Sequence[float],
    seconds: float = 4.0,
    receive_paths: Sequence[ReceivePath] = ("labkit",),
    endpoint: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[ExperimentResult]:
    """One fresh call per value and receive path; ``progress(done, total, label)`` after each."""
    for path in receive_paths:
        if path not in PATHS:
            raise ArgumentError(f"A receive path is one of {', '.join(PATHS)}, not {path!r}.")
    if not 0.5 <= seconds <= 600:
        raise ArgumentError(f"Measure each point for 0.5 to 600 s, not {seconds}.")
    points = [(value, path) for value in values for path in receive_paths]
    for value, _ in points:
        conditions_for(parameter, value)  # a bad value fails before any call
    service = None
    if endpoint is None:
        from ..service import start_service

        service = start_service()
        endpoint = service.url
    results: list[ExperimentResult] = []
    try:
        for done, (value, path) in enumerate(points, start=1):
            results.append(await measure_point(endpoint, parameter, value, path, seconds))
            if progress is not None:
                progress(done, len(points), f"{parameter}={value:g} ({path})")
    finally:
        if service is not None:
            service.stop()
    return results


async def measure_point(
    endpoint: str, parameter: Parameter, value: float, receive_path: ReceivePath, seconds: float
) -> ExperimentResult:
    """One call: Alice sends through ``parameter=value``; Bob, on ``receive_path``, measures for ``seconds``."""
    clients = [CallClient(endpoint), CallClient(endpoint)]
    try:
        alice = await clients[0].create_call_agent((await request_token(endpoint, "sweep-alice"))[0], "Alice")
        bob = await clients[1].create_call_agent((await request_token(endpoint, "sweep-bob"))[0], "Bob")
        cameras = await (await clients[0].get_device_manager()).get_cameras()
        call = alice.start_call([bob.identifier], video_options=LocalVideoStream(cameras[0]))
        incoming = await bob.wait_for_incoming_call()
        bob_call = await incoming.accept()  # no video back: the machine's work is Alice's stream alone
        await call.wait_for_state("Connected")
        await bob_call.wait_for_state("Connected")
        deadline = time.monotonic() + 10
        while not bob_call.remote_participants or not bob_call.remote_participants[0].video_streams:
            if time.monotonic() > deadline:
                raise TimeoutError("Alice's video did not reach Bob within 10 s")
            await asyncio.sleep(0.05)
        stream = bob_call.remote_participants[0].video_streams[0]
        await stream.next_frame()
        return await _measure(call, bob_call, stream, parameter, value, receive_path, seconds)
    finally:
        for client in clients:
            await client.dispose()


class _AudioMeter:
    """Levels of the far end's audio frames (an audio tap, on the engine thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.audible = 0.0
        """Seconds of audio above -60 dBFS played so far."""
        self.on = False

    def __call__(self, _user_id: str, frame: AudioFrame) -> None:
        if self.on and audio_level_dbfs(frame) > -60:
            with self._lock:
                self.audible += frame.samples / (frame.sample_rate or 48_000)

    def present(self, seconds: float) -> float:
        """The share of ``seconds`` during which audio played (a stalled buffer plays nothing)."""
        with self._lock:
            return min(1.0, self.audible / seconds)


async def _measure(
    call: Call,
    bob_call: Call,
    stream: RemoteVideoStream,
    parameter: Parameter,
    value: float,
    receive_path: ReceivePath,
    seconds: float,
) -> ExperimentResult:
    alice_lab, bob_lab = call.feature(Features.NETWORK_LAB), bob_call.feature(Features.NETWORK_LAB)
    assert isinstance(alice_lab, NetworkLabFeature)
    assert isinstance(bob_lab, NetworkLabFeature)
    bob_lab.set_receive_path(receive_path)
    alice_lab.set(conditions_for(parameter, value), direction="send")
    meter = _AudioMeter()
    media = bob_call.media
    media.engine.call_soon(media.add_audio_tap, meter)
    await asyncio.sleep(SETTLE)
    before = bob_lab.receive_stats()
    frames0, frozen0 = stream.frames_received, stream.total_freeze_duration
    meter.on = True
    latencies: list[float] = []
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            frame = await stream.next_frame(timeout=left)
        except TimeoutError:
            break
        arrived = time.time() * 1000
        stamp = frame_code.decode(rgb_image(frame))
        if stamp is not None:
            latencies.append((arrived - stamp.capture_time_ms) % 2**32)
    meter.on = False
    after = bob_lab.receive_stats()
    media.engine.call_soon(media.remove_audio_tap, meter)
    frames = stream.frames_received - frames0
    audio0, audio1 = before.get("audio"), after.get("audio")
    concealed = samples = 0
    if audio0 is not None and audio1 is not None:
        concealed = audio1.jitter_buffer.concealed_samples - audio0.jitter_buffer.concealed_samples
        samples = audio1.jitter_buffer.total_samples_received - audio0.jitter_buffer.total_samples_received
    video0, video1 = before.get("video"), after.get("video")
    nacks = video1.nack_count - video0.nack_count if video0 and video1 else 0
    plis = video1.pli_count - video0.pli_count if video0 and video1 else 0
    ordered = sorted(latencies)
    return ExperimentResult(
        parameter=parameter,
        value=float(value),
        receive_path=receive_path,
        seconds=seconds,
        frames_per_second=frames / seconds,
        freeze_seconds=stream.total_freeze_duration - frozen0,
        latency_p50_ms=statistics.median(ordered) if ordered else None,
        latency_p95_ms=ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else None,
        audio_present=meter.present(seconds),
        audio_concealed=concealed / samples if samples else 0.0,
        nacks=nacks,
        plis=plis,
    )


# --- results ---------------------------------------------------------------------------------

FIELDS: Final = tuple(field.name for field in dataclasses.fields(ExperimentResult))


def to_dataframe(results: Sequence[ExperimentResult]) -> pandas.DataFrame:
    """The results as a DataFrame, one row per point (needs pandas)."""
    import pandas

    return pandas.DataFrame([dataclasses.asdict(result) for result in results], columns=list(FIELDS))


def write_csv(results: Sequence[ExperimentResult], path: str | Path) -> Path:
    """The results as CSV, one row per point."""
    target = Path(path)
    with target.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=FIELDS)
        writer.writeheader()
        for result in results:
            writer.writerow(dataclasses.asdict(result))
    return target


def plot_sweep(results: Sequence[ExperimentResult], figure: Figure | None = None) -> Figure:
    """One summary figure: video rate and freezes, audio presence and concealment, latency; a line per path."""
    from matplotlib.figure import Figure

    figure = figure or Figure(figsize=(11, 3.4), layout="constrained")
    axes = figure.subplots(1, 3)
    if not results:
        return figure
    parameter = results[0].parameter
    for index, path in enumerate(dict.fromkeys(result.receive_path for result in results)):
        mine = sorted((r for r in results if r.receive_path == path), key=lambda r: r.value)
        xs = [r.value for r in mine]
        solid: dict[str, Any] = {"color": f"C{index}", "marker": "o"}
        dashed: dict[str, Any] = {"color": f"C{index}", "marker": "x", "ls": "--"}
        axes[0].plot(xs, [r.frames_per_second for r in mine], **solid, label=f"{path}: frames/s")
        frozen = [30 * r.freeze_seconds / r.seconds for r in mine]
        axes[0].plot(xs, frozen, **dashed, label=f"{path}: share frozen (x30)")
        axes[1].plot(xs, [100 * r.audio_present for r in mine], **solid, label=f"{path}: audio present")
        axes[1].plot(xs, [100 * r.audio_concealed for r in mine], **dashed, label=f"{path}: concealed")
        axes[2].plot(xs, [_number(r.latency_p50_ms) for r in mine], **solid, label=f"{path}: p50")
        axes[2].plot(xs, [_number(r.latency_p95_ms) for r in mine], **dashed, label=f"{path}: p95")
    titles = ("video at the far end", "audio at the far end (%)", "video latency (ms)")
    for axis, title in zip(axes, titles, strict=True):
        axis.set_title(title)
        axis.set_xlabel(f"{parameter} ({UNITS.get(parameter, '')})")
        axis.grid(alpha=0.3)
        axis.legend(fontsize="x-small")
    return figure


def _number(value: float | None) -> float:
    return float("nan") if value is None else value


__all__ = [
    "PARAMETERS",
    "ExperimentResult",
    "conditions_for",
    "measure_point",
    "plot_sweep",
    "sweep",
    "to_dataframe",
    "write_csv",
]
