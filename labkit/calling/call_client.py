"""The entry point of the calling API. ACS: ``CallClient``."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from aiortc import RTCIceServer

from ..errors import ErrorCode, LabkitError
from ..media import engine as media_engine
from ..media.ice import rtc_configuration
from ..protocol.messages import checked_display_name, checked_ring_timeout
from .call_agent import CallAgent
from .device_manager import DeviceManager
from .event_emitter import EventDispatcher
from .token_credential import TokenCredential

ENDPOINT_ENV = "LABKIT_ENDPOINT"
DEFAULT_RING_TIMEOUT = 30.0

_default_endpoint: Callable[[], str] | None = None


def use_default_endpoint(provider: Callable[[], str] | None) -> None:
    """Where a ``CallClient`` given no endpoint signs in: ``import labkit`` makes it the embedded service.

    The calling layer never imports the server; the package root wires the two together.
    """
    global _default_endpoint
    _default_endpoint = provider


class CallClient:
    """Creates call agents and owns the devices. ACS: ``CallClient``.

    ``endpoint`` is the labkit service (``http://host:port``). Without one (and without
    ``$LABKIT_ENDPOINT``) the process-wide embedded service is started and used.
    ``ice_servers`` are STUN/TURN servers (none by default: host candidates only).
    """

    def __init__(self, endpoint: str | None = None, *, ice_servers: Sequence[RTCIceServer] = ()) -> None:
        self._endpoint = endpoint or os.environ.get(ENDPOINT_ENV) or None
        self._engine = media_engine.acquire()
        self._dispatcher = EventDispatcher()
        self._dispatcher.bind()
        self._ice_servers = tuple(ice_servers)
        self._device_manager = DeviceManager(self._engine, self._dispatcher)
        self._agents: list[CallAgent] = []
        self._disposed = False

    @property
    def endpoint(self) -> str:
        """The service this client's agents sign in to (the embedded one is started on first use)."""
        if self._endpoint is None:
            if _default_endpoint is None:
                raise LabkitError(
                    ErrorCode.NOT_SIGNED_IN,
                    "This CallClient has no service endpoint.",
                    f"Give one (CallClient('http://host:port')) or set ${ENDPOINT_ENV}.",
                )
            self._endpoint = _default_endpoint()
        return self._endpoint

    async def create_call_agent(
        self,
        credential: TokenCredential | str,
        display_name: str = "",
        *,
        ring_timeout: float = DEFAULT_RING_TIMEOUT,
    ) -> CallAgent:
        """Sign in to the service. ACS: ``createCallAgent(credential, {displayName})``.

        Raises ``TokenError`` (with the service's code) if the token is refused.
        ``ring_timeout`` is how long this agent's outgoing calls ring before ending with 408.
        """
        self._check_open()
        self._dispatcher.bind()
        display_name = checked_display_name(display_name)
        checked_ring_timeout(ring_timeout)
        if isinstance(credential, str):
            credential = TokenCredential(credential)
        agent = CallAgent(
            self._engine,
            self._dispatcher,
            self._device_manager,
            self.endpoint,
            credential,
            display_name,
            rtc_configuration(self._ice_servers),
            ring_timeout,
            service_ice_servers=not self._ice_servers,
        )
        # the client signs its agents in (ACS: createCallAgent); users never call it
        await self._engine.run(agent._connect())  # noqa: SLF001
        self._device_manager.set_owner(agent.display_name)
        self._agents.append(agent)
        return agent

    async def get_device_manager(self) -> DeviceManager:
        """ACS: ``getDeviceManager``."""
        self._check_open()
        self._dispatcher.bind()
        return self._device_manager

    async def dispose(self) -> None:
        """Dispose every agent and release the media engine (its thread ends with the last client)."""
        if self._disposed:
            return
        self._disposed = True
        for agent in self._agents:
            await agent.dispose()
        self._agents.clear()
        media_engine.release()

    async def __aenter__(self) -> CallClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.dispose()

    def _check_open(self) -> None:
        if self._disposed:
            raise LabkitError(ErrorCode.NOT_SIGNED_IN, "This CallClient has been disposed.", "Create a new one.")
