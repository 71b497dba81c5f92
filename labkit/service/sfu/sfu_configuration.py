"""What SFU the service uses for group calls, and when (labkit; ``labkit serve --sfu``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .janus_process import JanusProcess
from .sfu_rooms import JanusInstance, SfuRooms

SfuEngine = Literal["janus"]
MAX_INSTANCES = 8
MAX_MESH_MEMBERS = 9
"""A mesh call's largest size: agents link to at most 8 peers (``MAX_MESH_PEERS``)."""
DEFAULT_SFU_ABOVE = 4
"""A group call moves to the SFU when it has more members than this (``labkit serve --sfu-above``)."""


@dataclass(frozen=True, slots=True)
class SfuConfiguration:
    """``instances`` Janus processes of the service's own (started and stopped with it), or the
    Janus instances already running at ``urls``.

    ``above``: a group call goes through the SFU once it has more members than this (0: every
    group call). ``api_secret`` is the existing instances' ``api_secret``; it stays in the
    service. With several instances, each room lives on one, the one with the fewest rooms.
    """

    engine: SfuEngine = "janus"
    urls: tuple[str, ...] = ()
    api_secret: str | None = None
    above: int = DEFAULT_SFU_ABOVE
    port: int = 0
    """Our own Janus's HTTP port on 127.0.0.1 (0: any free one; with several instances, the first's)."""
    instances: int = 1
    """How many Janus processes of our own (not with ``urls``)."""

    def __post_init__(self) -> None:
        if self.engine != "janus":
            raise ValueError(f"labkit's SFU is Janus; {self.engine!r} is not supported")
        if not 0 <= self.above <= MAX_MESH_MEMBERS - 1:
            raise ValueError(
                f"sfu_above must be 0 (every group call) to {MAX_MESH_MEMBERS - 1} (a mesh has at most "
                f"{MAX_MESH_MEMBERS} members), not {self.above}"
            )
        for url in self.urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(
                    f"the SFU URL must be Janus's HTTP API, such as http://127.0.0.1:8088/janus, not {url!r}"
                )
        if not 1 <= self.instances <= MAX_INSTANCES:
            raise ValueError(
                f"an SFU of the service's own has 1 to {MAX_INSTANCES} Janus instances, not {self.instances}"
            )

    def rooms(self) -> SfuRooms:
        """The service's SFU, not started yet."""
        if self.urls:
            return SfuRooms([JanusInstance(url, self.api_secret) for url in self.urls])
        ports = [self.port + n if self.port else 0 for n in range(self.instances)]
        return SfuRooms([JanusInstance(process=JanusProcess(port)) for port in ports])


__all__ = ["DEFAULT_SFU_ABOVE", "SfuConfiguration", "SfuEngine"]
