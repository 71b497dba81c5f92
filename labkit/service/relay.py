"""The STUN and TURN servers the service hands its agents at sign-in.

ACS: ``CommunicationRelayClient.getRelayConfiguration()``, which gives each user TURN
credentials that expire. labkit does the same for a TURN server that uses coturn's REST
API (``use-auth-secret`` and ``static-auth-secret``): each agent gets the username
``<expiry>:<user id>`` and the password base64(HMAC-SHA1(secret, username)). The secret
never leaves the service; the TURN server checks the HMAC and the expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from ..protocol.messages import IceServer, IceTransportPolicy

DEFAULT_TTL = 12 * 3600
"""How long a TURN credential lasts (seconds)."""


@dataclass(frozen=True, slots=True)
class RelayConfiguration:
    """ICE servers for every agent; ``turn_secret`` signs the credentials of the ``turn:`` ones."""

    urls: tuple[str, ...] = ()
    turn_secret: str | None = None
    ttl: int = DEFAULT_TTL
    transport_policy: IceTransportPolicy = "all"
    """``relay``: agents use only relayed (TURN) candidates, as for a network that allows nothing else."""

    def __post_init__(self) -> None:
        for url in self.urls:
            scheme = url.split(":", 1)[0]
            if scheme not in ("stun", "stuns", "turn", "turns"):
                raise ValueError(f"{url!r} is not an ICE server URL: it must start with stun:, stuns:, turn: or turns:")
            if scheme.startswith("turn") and not self.turn_secret:
                raise ValueError(
                    f"{url} needs a shared secret to sign TURN credentials: give turn_secret "
                    "(labkit serve --turn-secret), the server's static-auth-secret"
                )
        if self.transport_policy == "relay" and not self.turn_urls:
            raise ValueError("the relay policy needs a turn: or turns: server")
        if self.ttl <= 0:
            raise ValueError(f"a TURN credential must last some time, not {self.ttl} s")

    @property
    def turn_urls(self) -> tuple[str, ...]:
        return tuple(u for u in self.urls if u.startswith("turn"))

    def ice_servers(self, user_id: str, now: float | None = None) -> list[IceServer]:
        """What ``user_id`` gets at sign-in: the STUN servers, and the TURN ones with fresh credentials."""
        servers = []
        stun = [u for u in self.urls if u.startswith("stun")]
        if stun:
            servers.append(IceServer(urls=stun))
        if self.turn_urls:
            assert self.turn_secret is not None
            username = f"{int((time.time() if now is None else now) + self.ttl)}:{user_id}"
            digest = hmac.new(self.turn_secret.encode(), username.encode(), hashlib.sha1).digest()
            servers.append(
                IceServer(urls=list(self.turn_urls), username=username, credential=base64.b64encode(digest).decode())
            )
        return servers


__all__ = ["DEFAULT_TTL", "IceTransportPolicy", "RelayConfiguration"]
