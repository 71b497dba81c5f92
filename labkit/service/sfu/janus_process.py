"""A Janus of the service's own: configured, started, watched and stopped with it (labkit).

Janus (Debian package ``janus``) is the SFU. The service writes its configuration into a
private directory: the HTTP transport on 127.0.0.1 and a free port, the videoroom plugin
only, no STUN, ICE on ``lo`` only, and an API secret that never leaves the service.

Janus skips loopback interfaces when it gathers candidates (``IFF_LOOPBACK`` in its
``ice.c``), so on a machine whose only path is ``lo`` every offer fails with ``490 Error
setting ICE locally``. labkit preloads a small shim that clears that flag in
``getifaddrs()`` for the Janus process alone (built once with the C compiler, cached).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from ...errors import ErrorCode, LabkitError

logger = logging.getLogger(__name__)

JANUS_LIBRARIES = Path("/usr/lib/x86_64-linux-gnu/janus")
"""Where Debian's ``janus`` keeps its plugins and transports."""
START_TIMEOUT = 10.0
"""Seconds Janus has to answer its HTTP API after it starts."""

LOOPBACK_SHIM = r"""
/* labkit: Janus skips interfaces flagged IFF_LOOPBACK when it gathers ICE candidates;
   clear the flag so it can gather 127.0.0.1 on a machine whose only path is lo. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>

int getifaddrs(struct ifaddrs **ifap) {
    static int (*real)(struct ifaddrs **) = 0;
    if (!real) real = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
    int rc = real(ifap);
    if (rc == 0)
        for (struct ifaddrs *i = *ifap; i; i = i->ifa_next) i->ifa_flags &= ~IFF_LOOPBACK;
    return rc;
}
"""


class SfuError(LabkitError):
    """The SFU could not be started or reached: what went wrong and what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(ErrorCode.SFU_UNAVAILABLE, message, hint)


def find_janus() -> str:
    """The ``janus`` executable, or an ``SfuError`` that says how to install it."""
    path = shutil.which("janus")
    if path is None:
        raise SfuError(
            "Janus is not installed, so the service cannot start an SFU.",
            "Install Debian's package (apt-get install janus; `make demo` does), or give --sfu-url of a running one.",
        )
    return path


def loopback_shim(cache: Path | None = None) -> Path:
    """The shim library (built on first use into ``~/.cache/labkit``)."""
    digest = hashlib.sha256(LOOPBACK_SHIM.encode()).hexdigest()[:12]
    folder = cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "labkit"
    library = folder / f"janus-loopback-{digest}.so"
    if library.exists():
        return library
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise SfuError(
            "No C compiler to build the loopback shim Janus needs here.", "Install gcc (apt-get install gcc)."
        )
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"janus-loopback-{digest}.c"
    source.write_text(LOOPBACK_SHIM)
    partial = library.with_suffix(f".{os.getpid()}.tmp")
    done = subprocess.run(
        [compiler, "-shared", "-fPIC", "-O2", "-o", str(partial), str(source), "-ldl"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SfuError(f"Building the Janus loopback shim failed: {done.stderr.strip()}")
    partial.replace(library)
    return library


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def write_configuration(folder: Path, port: int, api_secret: str, rtp_ports: tuple[int, int] | None) -> Path:
    """Janus's configuration for the service: HTTP on 127.0.0.1:``port``, videoroom only, ICE on lo."""
    libraries = JANUS_LIBRARIES
    plugins = sorted(p.name for p in (libraries / "plugins").glob("*.so") if "videoroom" not in p.name)
    transports = sorted(p.name for p in (libraries / "transports").glob("*.so") if "_http" not in p.name)
    rtp = f'\trtp_port_range = "{rtp_ports[0]}-{rtp_ports[1]}"\n' if rtp_ports else ""
    (folder / "janus.jcfg").write_text(
        "general: {\n"
        f'\tconfigs_folder = "{folder}"\n'
        f'\tplugins_folder = "{libraries / "plugins"}"\n'
        f'\ttransports_folder = "{libraries / "transports"}"\n'
        f'\tevents_folder = "{libraries / "events"}"\n'
        f'\tloggers_folder = "{libraries / "loggers"}"\n'
        "\tdebug_level = 3\n"
        f'\tapi_secret = "{api_secret}"\n'
        "\tsession_timeout = 60\n"
        "}\n"
        "media: {\n"
        f"{rtp}"
        "}\n"
        "nat: {\n"
        '\tice_enforce_list = "lo"\n'
        "\tnice_debug = false\n"
        "}\n"
        f'plugins: {{\n\tdisable = "{",".join(plugins)}"\n}}\n'
        f'transports: {{\n\tdisable = "{",".join(transports)}"\n}}\n'
        "events: {\n\tbroadcast = false\n}\n"
        'loggers: {\n\tdisable = "libjanus_jsonlog.so"\n}\n'
    )
    (folder / "janus.transport.http.jcfg").write_text(
        "general: {\n"
        '\tjson = "compact"\n'
        '\tbase_path = "/janus"\n'
        "\thttp = true\n"
        f"\tport = {port}\n"
        '\tip = "127.0.0.1"\n'
        "\thttps = false\n"
        "}\n"
        "admin: {\n\tadmin_http = false\n\tadmin_https = false\n}\n"
    )
    (folder / "janus.plugin.videoroom.jcfg").write_text("general: {\n\tstring_ids = true\n}\n")
    return folder / "janus.jcfg"


class JanusProcess:
    """``janus`` run for one service: ``await start()``, ``url``, ``api_secret``, ``await stop()``."""

    def __init__(self, port: int = 0, rtp_ports: tuple[int, int] | None = None) -> None:
        self.requested_port = port
        self.port = 0
        self.rtp_ports = rtp_ports
        self.api_secret = secrets.token_urlsafe(24)
        """What every request to this Janus carries; it never leaves the service."""
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._process: asyncio.subprocess.Process | None = None
        self.log: list[str] = []
        """Janus's recent output (its last 200 lines), for error messages."""
        self._reader: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/janus"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        """Start Janus and wait until its API answers; ``SfuError`` says why it could not."""
        executable = find_janus()
        if self.requested_port and not port_is_free(self.requested_port):
            raise SfuError(
                f"Port {self.requested_port} on 127.0.0.1 is taken, so Janus cannot listen there.",
                "Give another --sfu-port, or 0 for any free port.",
            )
        self.port = self.requested_port or free_port()
        shim = loopback_shim()
        self._folder = tempfile.TemporaryDirectory(prefix="labkit-janus-")
        folder = Path(self._folder.name)
        config = write_configuration(folder, self.port, self.api_secret, self.rtp_ports)
        environment = {**os.environ, "LD_PRELOAD": str(shim)}
        self._process = await asyncio.create_subprocess_exec(
            executable,
            "--config",
            str(config),
            "--configs-folder",
            str(folder),
            "--disable-colors",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=environment,
        )
        self._reader = asyncio.get_running_loop().create_task(self._read_output(), name="labkit-janus-output")
        await self._wait_until_answering()
        logger.info("Janus %s listening on %s", self._process.pid, self.url)

    async def _read_output(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        async for raw in self._process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.log.append(line)
            del self.log[:-200]
            logger.debug("janus: %s", line)

    async def _wait_until_answering(self) -> None:
        import aiohttp

        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        async with aiohttp.ClientSession() as http:
            while True:
                if self._process is not None and self._process.returncode is not None:
                    await asyncio.sleep(0.1)  # let the last lines in
                    raise SfuError(
                        f"Janus exited at start (code {self._process.returncode}): {self.last_words()}",
                        "Check the Janus installation (janus --version).",
                    )
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.url}/info", timeout=aiohttp.ClientTimeout(total=1)) as reply:
                        if reply.status == 200:
                            return
                if loop.time() > deadline:
                    await self.stop()
                    raise SfuError(
                        f"Janus did not answer on {self.url} within {START_TIMEOUT:g} s: {self.last_words()}"
                    )
                await asyncio.sleep(0.05)

    def last_words(self) -> str:
        errors = [line for line in self.log if "[ERR]" in line or "error" in line.lower()]
        return " / ".join((errors or self.log)[-3:]) or "no output"

    async def wait(self) -> int:
        """Until Janus exits; its exit code."""
        assert self._process is not None
        return await self._process.wait()

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None


__all__ = ["JanusProcess", "SfuError", "find_janus", "loopback_shim"]
