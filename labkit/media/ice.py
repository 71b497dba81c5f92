"""ICE settings: loopback-only host candidates and no outside STUN server, by default.

aiortc's default ``RTCConfiguration`` asks Google's public STUN server, and aioice
offers every interface address except 127.0.0.1. labkit instead offers only 127.0.0.1 and
uses no STUN server unless given one, so calls stay on this machine. Set
``LABKIT_ICE=host`` (or call ``set_ice_mode("host")``) to offer the machine's interface
addresses, for calls to other devices on a LAN.

Importing labkit changes nothing in aioice. The mode takes effect when labkit's media
engine starts (or when ``set_ice_mode`` is called): in loopback mode, aioice's
``get_host_addresses`` is replaced, process-wide, by one that returns 127.0.0.1; in host
mode, aioice's own is left (or put back) in place.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCIceTransportPolicy

ICE_ENV = "LABKIT_ICE"


class IceMode(StrEnum):
    LOOPBACK = "loopback"
    """Only 127.0.0.1 host candidates (the default)."""
    HOST = "host"
    """The machine's interface addresses, as aioice gathers them."""


_original_get_host_addresses: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses
_ice: Any = aioice.ice  # the module whose function we replace


def _loopback_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"] if use_ipv4 else []


_chosen: IceMode | None = None  # set_ice_mode's choice; None: $LABKIT_ICE decides


def set_ice_mode(mode: IceMode | str) -> None:
    """Choose which host addresses ICE offers, process-wide, from now on."""
    global _chosen
    _chosen = IceMode(mode)
    _apply(_chosen)


def apply_ice_mode() -> IceMode:
    """Put the chosen mode in place (``set_ice_mode``'s, else ``$LABKIT_ICE``, else loopback).

    The media engine calls this when it starts.
    """
    mode = _chosen or IceMode(os.environ.get(ICE_ENV, IceMode.LOOPBACK.value))
    _apply(mode)
    return mode


def _apply(mode: IceMode) -> None:
    _ice.get_host_addresses = (  # aioice looks this name up at each gathering
        _loopback_addresses if mode is IceMode.LOOPBACK else _original_get_host_addresses
    )


def rtc_configuration(ice_servers: Sequence[RTCIceServer] = (), policy: str = "all") -> RTCConfiguration:
    """A configuration with exactly ``ice_servers`` (none by default: no outside STUN).

    ``policy="relay"`` gathers only relayed (TURN) candidates (W3C ``iceTransportPolicy``).
    """
    return RTCConfiguration(iceServers=list(ice_servers), iceTransportPolicy=RTCIceTransportPolicy(policy))
