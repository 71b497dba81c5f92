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
from .kernel_parent import keep_cell_parents
from .stats_panel import StatsPanel
from .video_panel import VideoPanel, VideoTile

keep_cell_parents()  # ipykernel 7.4: see kernel_parent.py

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
