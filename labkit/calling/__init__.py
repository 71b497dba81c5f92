"""The calling API, shaped like ACS ``@azure/communication-calling``, in snake_case."""

from __future__ import annotations

from ..media.devices import AudioDeviceInfo, AudioDeviceType, VideoDeviceInfo, VideoDeviceType
from ..media.video_constraints import OutgoingVideoConstraints, VideoConstraints
from ..protocol.end_reasons import CallEndReason
from ..states import CallDirection, CallState, ConnectionState, MediaStreamType, RemoteParticipantState
from .call import Call
from .call_agent import CallAgent, IncomingCallEvent
from .call_client import CallClient
from .call_media import CallMedia
from .call_options import AudioOptions, VideoOptions
from .call_session import MAX_MESH_PEERS
from .device_manager import DeviceAccess, DeviceManager
from .event_emitter import CollectionUpdated, ValueChanged
from .features import Features
from .incoming_call import CallerInfo, IncomingCall
from .local_video_stream import LocalVideoStream
from .recording import RecordingCallFeature
from .remote_participant import RemoteParticipant
from .remote_video_stream import RemoteVideoStream
from .token_credential import TokenCredential
from .video_stream_renderer import VideoStreamRenderer, VideoStreamRendererView

__all__ = [
    "MAX_MESH_PEERS",
    "AudioDeviceInfo",
    "AudioDeviceType",
    "AudioOptions",
    "Call",
    "CallAgent",
    "CallClient",
    "CallDirection",
    "CallEndReason",
    "CallMedia",
    "CallState",
    "CallerInfo",
    "CollectionUpdated",
    "ConnectionState",
    "DeviceAccess",
    "DeviceManager",
    "Features",
    "IncomingCall",
    "IncomingCallEvent",
    "LocalVideoStream",
    "MediaStreamType",
    "OutgoingVideoConstraints",
    "RecordingCallFeature",
    "RemoteParticipant",
    "RemoteParticipantState",
    "RemoteVideoStream",
    "TokenCredential",
    "ValueChanged",
    "VideoConstraints",
    "VideoDeviceInfo",
    "VideoDeviceType",
    "VideoOptions",
    "VideoStreamRenderer",
    "VideoStreamRendererView",
]
