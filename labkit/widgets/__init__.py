"""Notebook widgets for calls (ipywidgets). The calling core never imports this package."""

from __future__ import annotations

from .call_controls import CallControls
from .dialer import Dialer, resolve_callee
from .error_bar import ErrorBar
from .frame_pump import Feed, FramePump
from .incoming_call_prompt import IncomingCallPrompt

__all__ = ["CallControls", "Dialer", "ErrorBar", "Feed", "FramePump", "IncomingCallPrompt", "resolve_callee"]
