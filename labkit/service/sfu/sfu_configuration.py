"""What SFU the service uses for group calls, and when (labkit; ``labkit serve --sfu``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .janus_process import JanusProcess
from .sfu_rooms import SfuRooms

SfuEngine = Literal["janus"]
DEFAULT_SFU_ABOVE = 4
"""A group call moves to the SFU when it has more members than this (``labkit serve --sfu-above``)."""


@dataclass(frozen=True, slots=True)
class SfuConfiguration:
    """A Janus of the service's own (``url=None``: started and stopped with it), or one at ``url``.

    ``above``: a group call goes through the SFU once it has more members than this (0: every
    group call). ``api_secret`` is the existing Janus's ``api_secret``; it stays in the service.
    """

    engine: SfuEngine = "janus"
    url: str | None = None
    api_secret: str | None = None
    above: int = DEFAULT_SFU_ABOVE
    port: int = 0
    """Our own Janus's HTTP port on 127.0.0.1 (0: any free one)."""

    def __post_init__(self) -> None:
        if self.engine != "janus":
            raise ValueError(f"labkit's SFU is Janus; {self.engine!r} is not supported")
        if self.above < 0:
            raise ValueError(f"sfu_above must be 0 (every group call) or more, not {self.above}")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(
                f"the SFU URL must be Janus's HTTP API, such as http://127.0.0.1:8088/janus, not {self.url!r}"
            )

    def rooms(self) -> SfuRooms:
        """The service's SFU, not started yet."""
        if self.url is not None:
            return SfuRooms(self.url, self.api_secret, name=f"janus at {self.url}")
        return SfuRooms(process=JanusProcess(self.port), name="janus")


__all__ = ["DEFAULT_SFU_ABOVE", "SfuConfiguration", "SfuEngine"]
