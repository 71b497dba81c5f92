"""The public names of labkit, pinned: a name added or lost is a decision, made here on purpose."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import labkit

PUBLIC = {
    "labkit": [
        "AccessToken", "AudioDeviceInfo", "AudioOptions", "Call", "CallAgent", "CallClient", "CallDirection",
        "CallEndReason", "CallState", "CallerInfo", "CollectionUpdated", "CommunicationUserIdentifier",
        "ConnectionState", "DeviceManager", "EmbeddedService", "ErrorCode", "Features", "IceMode", "IncomingCall",
        "LabkitError", "LocalIdentityClient", "LocalVideoStream", "MediaStreamType", "OutgoingVideoConstraints",
        "RelayConfiguration",
        "RemoteParticipant", "RemoteParticipantState", "RemoteVideoStream", "SfuConfiguration", "TokenCredential",
        "TokenError",
        "TokenScope", "ValueChanged", "VideoConstraints", "VideoDeviceInfo", "VideoOptions", "VideoStreamRenderer",
        "VideoStreamRendererView", "__version__", "app", "create_identity_client", "list_users", "request_token",
        "set_ice_mode", "start_service",
    ],
    "labkit.calling": [
        "AudioDeviceInfo", "AudioDeviceType", "AudioOptions", "Call", "CallAgent", "CallClient",
        "CallDirection", "CallEndReason",
        "CallMedia", "CallState", "CallerInfo", "CollectionUpdated", "ConnectionState",
        "DeviceAccess", "DeviceManager", "Features", "IncomingCall", "IncomingCallEvent", "LocalVideoStream",
        "MAX_MESH_PEERS", "MediaStreamType", "OutgoingVideoConstraints", "RecordingCallFeature", "RemoteParticipant",
        "RemoteParticipantState", "RemoteVideoStream", "TokenCredential", "ValueChanged", "VideoDeviceInfo",
        "VideoConstraints", "VideoDeviceType", "VideoOptions", "VideoStreamRenderer", "VideoStreamRendererView",
    ],
    "labkit.protocol": ["PROTOCOL_VERSION", "CallEndReason", "MessageType", "end_reasons", "messages"],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_the_public_names_are_exactly_these(module: str) -> None:
    exported = importlib.import_module(module)
    assert sorted(exported.__all__) == sorted(PUBLIC[module])
    for name in exported.__all__:
        assert getattr(exported, name) is not None, f"{module}.{name} does not resolve"


def test_a_misspelled_event_name_fails_the_type_check(tmp_path: Path) -> None:
    """Event names are ``Literal``s (as in livekit's ``rtc``): mypy rejects one that does not exist."""
    from mypy import api

    snippet = tmp_path / "events_snippet.py"
    snippet.write_text(
        "from labkit import Call\n\n\n"
        "def watch(call: Call) -> None:\n"
        '    call.on("state_changed", print)\n'
        '    call.on("state_changd", print)\n'
    )
    out, _, status = api.run(["--strict", "--no-incremental", "--follow-imports=silent", str(snippet)])
    assert status == 1, out
    assert 'events_snippet.py:6: error: Argument 1 to "on" of "Emitter" has incompatible type' in out
    assert "events_snippet.py:5" not in out


def test_each_emitter_lists_the_events_of_its_literal() -> None:
    from typing import get_args

    from labkit.calling.call import CallEventName
    from labkit.calling.remote_participant import RemoteParticipantEventName

    assert get_args(CallEventName) == labkit.Call.EVENTS
    assert get_args(RemoteParticipantEventName) == labkit.RemoteParticipant.EVENTS
    with pytest.raises(ValueError, match="Call has no event 'state_changd'; its events are: state_changed"):
        labkit.Call.on(object.__new__(labkit.Call), "state_changd", print)  # type: ignore[arg-type]
