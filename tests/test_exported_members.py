"""The public names of labkit, pinned: a name added or lost is a decision, made here on purpose."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "labkit": [
        "AccessToken", "AudioDeviceInfo", "AudioOptions", "Call", "CallAgent", "CallClient", "CallDirection",
        "CallEndReason", "CallState", "CallerInfo", "CollectionUpdated", "CommunicationUserIdentifier",
        "ConnectionState", "DeviceManager", "EmbeddedService", "ErrorCode", "Features", "IceMode", "IncomingCall",
        "LabkitError", "LocalIdentityClient", "LocalVideoStream", "MediaStreamType", "RelayConfiguration",
        "RemoteParticipant", "RemoteParticipantState", "RemoteVideoStream", "TokenCredential", "TokenError",
        "TokenScope", "ValueChanged", "VideoDeviceInfo", "VideoOptions", "VideoStreamRenderer",
        "VideoStreamRendererView", "__version__", "app", "create_identity_client", "list_users", "request_token",
        "set_ice_mode", "start_service",
    ],
    "labkit.calling": [
        "AudioDeviceInfo", "AudioDeviceType", "AudioOptions", "Call", "CallAgent", "CallClient",
        "CallDirection", "CallEndReason", "CallState", "CallerInfo", "CollectionUpdated", "ConnectionState",
        "DeviceAccess", "DeviceManager", "Features", "IncomingCall", "IncomingCallEvent", "LocalVideoStream",
        "MAX_MESH_PEERS", "MediaStreamType", "RecordingCallFeature", "RemoteParticipant",
        "RemoteParticipantState", "RemoteVideoStream", "TokenCredential", "ValueChanged", "VideoDeviceInfo",
        "VideoDeviceType", "VideoOptions", "VideoStreamRenderer", "VideoStreamRendererView",
    ],
    "labkit.protocol": ["PROTOCOL_VERSION", "CallEndReason", "MessageType", "end_reasons", "messages"],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_the_public_names_are_exactly_these(module: str) -> None:
    exported = importlib.import_module(module)
    assert sorted(exported.__all__) == sorted(PUBLIC[module])
    for name in exported.__all__:
        assert getattr(exported, name) is not None, f"{module}.{name} does not resolve"
