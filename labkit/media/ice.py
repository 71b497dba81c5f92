"""ICE settings: loopback-only host candidates and no outside STUN server, by default.

aiortc's default ``RTCConfiguration`` asks Google's public STUN server, and aioice
offers every interface address except 127.0.0.1. labkit instead offers only 127.0.0.1 and
uses no STUN server unless given one, so calls stay on this machine. Set
``LABKIT_ICE=host`` (or call ``set_ice_mode("host")``) to offer the machine's interface
addresses, for calls to other devices on a LAN.
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


def set_ice_mode(mode: IceMode | str) -> None:
    """Choose which host addresses ICE offers, process-wide (before creating calls)."""
    mode = IceMode(mode)
    _ice.get_host_addresses = (  # aioice looks this name up at each gathering
        _loopback_addresses if mode is IceMode.LOOPBACK else _original_get_host_addresses
    )


def rtc_configuration(ice_servers: Sequence[RTCIceServer] = (), policy: str = "all") -> RTCConfiguration:
    """A configuration with exactly ``ice_servers`` (none by default: no outside STUN).

    ``policy="relay"`` gathers only relayed (TURN) candidates (W3C ``iceTransportPolicy``).
    """
    return RTCConfiguration(iceServers=list(ice_servers), iceTransportPolicy=RTCIceTransportPolicy(policy))


set_ice_mode(os.environ.get(ICE_ENV, IceMode.LOOPBACK.value))
