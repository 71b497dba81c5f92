"""Notebook widgets for calls (ipywidgets). The calling core never imports this package."""

from __future__ import annotations

from .browser_media import BrowserMedia, BrowserVideo
from .call_app import CallApp, app, describe_end
from .call_controls import CallControls
from .device_picker import DevicePicker
from .dialer import Dialer, resolve_callee
from .done_button import DoneButton
from .error_bar import ErrorBar
from .frame_pump import Feed, FramePump
from .incoming_call_prompt import IncomingCallPrompt
from .stats_panel import StatsPanel
from .video_panel import VideoPanel, VideoTile

__all__ = [
    "BrowserMedia",
    "BrowserVideo",
    "CallApp",
    "CallControls",
    "DevicePicker",
    "Dialer",
    "DoneButton",
    "ErrorBar",
    "Feed",
    "FramePump",
    "IncomingCallPrompt",
    "StatsPanel",
    "VideoPanel",
    "VideoTile",
    "app",
    "describe_end",
    "resolve_callee",
]
