"""A real coturn TURN server on 127.0.0.1 for the test that starts it (Debian's ``coturn``)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from labkit import Call

from .helpers import free_port, stop_process

RELAY_PORTS = (49160, 49300)


@contextlib.contextmanager
def turn_server(secret: str, folder: Path) -> Iterator[str]:
    """coturn with the TURN REST API (``use-auth-secret``); yields its ``turn:`` URL."""
    binary = shutil.which("turnserver")
    assert binary is not None, "coturn is missing: make test installs it (.ci/debian-packages.txt)"
    port = free_port()
    log = folder / "turnserver.log"
    command = [
        binary,
        "-n",
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        f"--listening-port={port}",
        "--use-auth-secret",
        f"--static-auth-secret={secret}",
        "--realm=labkit",
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        "--allow-loopback-peers",  # else CHANNEL_BIND to 127.0.0.1 is 403 Forbidden IP
        f"--min-port={RELAY_PORTS[0]}",
        f"--max-port={RELAY_PORTS[1]}",
        f"--pidfile={folder / 'turnserver.pid'}",
        f"--log-file={log}",
        "--simple-log",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:  # it listens on TCP as well as UDP
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            assert process.poll() is None, f"turnserver exited: {log.read_text() if log.exists() else ''}"
            assert time.monotonic() < deadline, "turnserver did not start within 10 s"
            time.sleep(0.05)
        yield f"turn:127.0.0.1:{port}"
    finally:
        stop_process(process, 5)


def relayed(call: Call) -> list[tuple[str, bool]]:
    """For each pair the call's ICE chose: the local candidate's type, and whether the far
    end is an address coturn allocated (a port in its relay range, after it checked the
    credential's HMAC)."""
    pairs = []
    for link in call.media.links.values():
        selected = link.selected_candidate_pair()
        if selected is not None:
            local, remote = selected
            pairs.append((local.type, RELAY_PORTS[0] <= remote.port <= RELAY_PORTS[1]))
    return pairs
