"""Running the service: on the current loop (``Server``), or on a thread of its own (``EmbeddedService``)."""

from __future__ import annotations

import asyncio
import atexit
import logging
import ssl
import threading
from typing import Self

from aiohttp import web

from ..errors import LabkitError
from ..identity import IdentityClient, LocalIdentityClient
from .access import check_exposure
from .app import create_app
from .app_keys import SWITCHBOARD_KEY
from .connection_guard import ConnectionGuard, GuardedAppRunner, listen_backlog
from .limits import ServiceLimits
from .media_routing import MediaRouting
from .relay import RelayConfiguration
from .sfu.sfu_configuration import SfuConfiguration
from .sfu.sfu_rooms import SfuRooms
from .switchboard import Switchboard

logger = logging.getLogger(__name__)

ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs'


class Server:
    """The labkit service bound to ``host:port`` on the running event loop (``port=0``: any free port)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        identity: IdentityClient | None = None,
        *,
        access_log: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        relay: RelayConfiguration | None = None,
        limits: ServiceLimits | None = None,
        access_code: str | None = None,
        open_to_all: bool = False,
        sfu: SfuConfiguration | None = None,
    ) -> None:
        check_exposure(host, access_code, open_to_all)
        self.host = host
        self.ssl_context = ssl_context
        """With a certificate, the service speaks HTTPS and WSS (browsers need it for cameras off localhost)."""
        self.identity = identity or LocalIdentityClient()
        self.relay = relay or RelayConfiguration()
        """The STUN and TURN servers agents get at sign-in."""
        self.limits = limits or ServiceLimits()
        """What one client may do (messages, tokens, connections); see ``docs/protocol.md``."""
        self.access_code = access_code or None
        """What ``POST /api/token`` and ``GET /api/users`` need (None: nothing)."""
        self.sfu = sfu.rooms() if sfu is not None else None
        """The SFU group calls go through (``None``: every call is a mesh)."""
        routing = MediaRouting(self.sfu, sfu.above) if sfu is not None else None
        self.app = create_app(self.identity, self.relay, self.limits, self.access_code, routing)
        self._requested_port = port
        self._access_log = access_log
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """``http://host:port`` (``https`` with a certificate); the WebSocket is at ``/ws`` below it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.ssl_context else 'http'}://{host}:{self.port}"

    @property
    def switchboard(self) -> Switchboard:
        return self.app[SWITCHBOARD_KEY]

    async def start(self) -> None:
        if self.sfu is not None:
            await self.sfu.start()  # SfuError: what is wrong with it, before anyone can call
        try:
            await self._listen()
        except BaseException:
            if self.sfu is not None:
                await self.sfu.stop()
            raise

    async def _listen(self) -> None:
        kwargs: dict[str, object] = (
            {"access_log_format": ACCESS_LOG_FORMAT} if self._access_log else {"access_log": None}
        )
        self.guard = ConnectionGuard(self.limits)
        self._runner = GuardedAppRunner(
            self.app,
            self.guard,
            handle_signals=False,
            shutdown_timeout=2.0,
            keepalive_timeout=self.limits.keepalive_timeout,
            **kwargs,
        )
        await self._runner.setup()
        site = web.TCPSite(
            self._runner,
            self.host,
            self._requested_port,
            reuse_address=True,
            ssl_context=self.ssl_context,
            backlog=listen_backlog(),
        )
        await site.start()
        server = site._server  # noqa: SLF001  (aiohttp's TCPSite does not expose the port it bound)
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self._requested_port
        logger.info("labkit service listening on %s", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            logger.info("labkit service stopped")
        if self.sfu is not None:
            await self.sfu.stop()


class EmbeddedService:
    """The service on a background thread with its own event loop, so notebooks never block.

    ``start()`` returns once it is listening; ``stop()`` shuts it down and joins the thread.
    Use it as a context manager, or ``start_service()``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        identity: IdentityClient | None = None,
        relay: RelayConfiguration | None = None,
        limits: ServiceLimits | None = None,
        access_code: str | None = None,
        open_to_all: bool = False,
        sfu: SfuConfiguration | None = None,
    ) -> None:
        self._server = Server(
            host,
            port,
            identity,
            relay=relay,
            limits=limits,
            access_code=access_code,
            open_to_all=open_to_all,
            sfu=sfu,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def identity(self) -> IdentityClient:
        return self._server.identity

    @property
    def guard(self) -> ConnectionGuard:
        """The running service's connection counts and caps (``open``, ``per_address``, ``cap``)."""
        return self._server.guard

    @property
    def sfu(self) -> SfuRooms | None:
        """The SFU group calls go through, if the service has one."""
        return self._server.sfu

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> Self:
        if self.is_running:
            return self
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="labkit-service", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the labkit service did not start within {timeout:g} s")
        if isinstance(self._error, LabkitError):
            raise self._error  # a clear one already (the SFU could not start)
        if self._error is not None:
            raise RuntimeError(f"the labkit service failed to start: {self._error}") from self._error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            loop.call_soon_threadsafe(self._stop_event.set)
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"the labkit service did not stop within {timeout:g} s")
        self._thread = None
        self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        self._stop_event = asyncio.Event()
        try:
            await self._server.start()
        except BaseException as exc:  # report bind errors to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop_event.wait()
        finally:
            await self._server.stop()


def start_service(
    host: str = "127.0.0.1",
    port: int = 0,
    identity: IdentityClient | None = None,
    relay: RelayConfiguration | None = None,
    limits: ServiceLimits | None = None,
    *,
    access_code: str | None = None,
    open_to_all: bool = False,
    sfu: SfuConfiguration | None = None,
) -> EmbeddedService:
    """Start the service in-process on a free loopback port and return it; ``.stop()`` ends it.

    ``relay`` gives agents STUN and TURN servers at sign-in (none by default); ``limits``
    are what one client may do (``ServiceLimits()`` by default). Off loopback, the service
    needs an ``access_code`` for its token endpoint, or ``open_to_all=True``. With ``sfu``
    (``SfuConfiguration()``: a Janus of its own), group calls beyond ``sfu.above`` members
    go through that SFU.
    """
    return EmbeddedService(host, port, identity, relay, limits, access_code, open_to_all, sfu).start()


_default: EmbeddedService | None = None
_default_lock = threading.Lock()


def default_service() -> EmbeddedService:
    """The process-wide embedded service that ``CallClient()`` uses when given no endpoint."""
    global _default
    with _default_lock:
        if _default is None or not _default.is_running:
            _default = start_service()
            atexit.register(_default.stop)
        return _default
