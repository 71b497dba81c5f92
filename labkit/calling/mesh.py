"""The mesh: a call's local feeds, relayed to one ``PeerLink`` per remote participant (labkit).

ACS hides how media travels; labkit shows it. Each remote participant gets a peer
connection of its own, and every one of them sends the same two feeds (microphone and
camera) through a ``MediaRelay``, each with an encoder of its own. The feeds outlive
device changes: switching the microphone or camera re-attaches a feed, and no link
renegotiates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRelay
from av import AudioFrame

from ..media.devices import VideoDeviceInfo
from ..media.encoder_input import EncoderInputTrack
from ..media.feed_track import AudioFeedTrack, VideoFeedTrack
from ..media.peer_link import LinkDirection, PeerLink, SignalSender
from ..media.video_constraints import VideoConstraints
from .call_host import CallHost
from .local_video_stream import LocalVideoStream

logger = logging.getLogger(__name__)

AudioTap = Callable[[str, AudioFrame], None]
"""Given every remote audio frame with its sender's user id (a call recording)."""


class Mesh:
    """One call's media: feeds, relays and links (engine thread)."""

    def __init__(self, host: CallHost, video: LocalVideoStream | None, mark: Callable[[str], None]) -> None:
        self._host = host
        self._mark = mark
        self.video_stream = video
        """The camera this call sends, if any."""
        self.links: dict[str, PeerLink] = {}
        self.audio_feed: AudioFeedTrack | None = None
        self.video_feed: VideoFeedTrack | None = None
        self.audio_taps: list[AudioTap] = []
        self.constraints = VideoConstraints()
        """The most this call sends (ACS ``setConstraints``); each link, now and later, keeps to it."""
        self._relays: tuple[MediaRelay, MediaRelay] | None = None
        self._video_proxy: MediaStreamTrack | None = None

    def start(self, muted: bool) -> None:
        """Open the microphone and the camera, and make the feeds the links will send."""
        self.audio_feed = AudioFeedTrack()
        self.audio_feed.muted = muted
        self.audio_feed.attach(self._host.devices.open_microphone())
        self.video_feed = VideoFeedTrack()
        if self.video_stream is not None:
            self._video_proxy = self.video_stream.subscribe()
            self.video_stream.on_switch(self._on_camera_switch)
            self.video_feed.attach(self._video_proxy)
        self._relays = (MediaRelay(), MediaRelay())

    def set_muted(self, muted: bool) -> None:
        if self.audio_feed is not None:
            self.audio_feed.muted = muted

    def switch_microphone(self) -> None:
        """Send the device manager's selected microphone from now on."""
        if self.audio_feed is not None:
            old = self.audio_feed.source
            self.audio_feed.attach(self._host.devices.open_microphone())
            if old is not None:
                old.stop()

    def start_video(self, stream: LocalVideoStream) -> LocalVideoStream | None:
        """Send ``stream`` instead of the camera sent so far; returns that one (or ``None``)."""
        old_stream, old_proxy = self.video_stream, self._video_proxy
        self.video_stream = stream
        self._video_proxy = stream.subscribe()
        stream.on_switch(self._on_camera_switch)
        if self.video_feed is not None:
            self.video_feed.attach(self._video_proxy)
        if old_stream is not None and old_proxy is not None:
            old_stream.off_switch(self._on_camera_switch)
            old_stream.unsubscribe(old_proxy)
        return old_stream

    def stop_video(self) -> None:
        if self.video_feed is not None:
            self.video_feed.attach(None)
        self._release_camera()
        self.video_stream = None

    def pause(self, paused: bool) -> None:
        """Hold: the feeds send nothing while paused."""
        for feed in (self.audio_feed, self.video_feed):
            if feed is not None:
                feed.pause(paused)

    def link(
        self,
        user_id: str,
        send: SignalSender,
        on_track: Callable[[MediaStreamTrack], None],
        on_state: Callable[[str], None],
        held: bool,
        direction: LinkDirection = "sendrecv",
    ) -> PeerLink:
        """The link to ``user_id``, made if there is none yet: sending both feeds unless ``recvonly``.

        A mesh link is ``sendrecv``; with an SFU, the link to it is ``sendonly`` (the feeds,
        published once) and each participant's is ``recvonly``.
        """
        link = self.links.get(user_id)
        if link is None:
            assert self.audio_feed is not None
            assert self.video_feed is not None
            assert self._relays is not None
            audio_relay, video_relay = self._relays
            sends = direction != "recvonly"
            link = PeerLink(
                user_id,
                EncoderInputTrack(audio_relay.subscribe(self.audio_feed, buffered=True)) if sends else None,
                EncoderInputTrack(video_relay.subscribe(self.video_feed, buffered=False)) if sends else None,
                self._host.rtc_configuration,
                send,
                on_track,
                on_state,
                self._host.video_codecs,
                direction,
            )
            link.held = held
            self.links[user_id] = link
            self._constrain(link)
        return link

    def set_constraints(self, constraints: VideoConstraints) -> None:
        """Keep every link's video within ``constraints`` from now on (engine thread)."""
        self.constraints = constraints
        for link in self.links.values():
            self._constrain(link)

    def _constrain(self, link: PeerLink) -> None:
        video = link.encoder_inputs.get("video")
        if video is not None:
            video.constraints = self.constraints.send
            link.set_max_bitrate("video", self.constraints.send.max_bitrate)

    async def drop(self, user_id: str) -> None:
        """Close the link to ``user_id``, if there is one."""
        link = self.links.pop(user_id, None)
        if link is not None:
            await link.close()

    async def close_links(self) -> None:
        links, self.links = list(self.links.values()), {}
        await asyncio.gather(*(link.close() for link in links), return_exceptions=True)

    def release(self) -> None:
        """Stop the feeds and let go of the microphone and camera (after ``close_links``)."""
        for feed in (self.audio_feed, self.video_feed):
            if feed is not None:
                source = feed.source
                feed.stop()
                if source is not None and feed is self.audio_feed:
                    source.stop()
        self._release_camera()

    def _release_camera(self) -> None:
        if self.video_stream is not None and self._video_proxy is not None:
            self.video_stream.off_switch(self._on_camera_switch)
            self.video_stream.unsubscribe(self._video_proxy)
        self._video_proxy = None

    def _on_camera_switch(self, camera: VideoDeviceInfo) -> None:
        self._mark("switch camera")
