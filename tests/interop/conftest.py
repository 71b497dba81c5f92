"""Interop: labkit against other WebRTC stacks (GStreamer's webrtcbin, Firefox, Chromium)."""

from ..calling.conftest import people  # noqa: F401  (the fixture: signed-in Python agents)
