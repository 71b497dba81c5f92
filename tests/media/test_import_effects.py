"""Importing labkit changes nothing around it; the media engine applies the ICE mode when it starts."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import sys
import aioice.ice
original = aioice.ice.get_host_addresses
import labkit, labkit.media.peer_link, labkit.calling
print("aioice changed by import:", aioice.ice.get_host_addresses is not original)
print("aiohttp.web loaded:", "aiohttp.web" in sys.modules)
from labkit.media.engine import MediaEngine
engine = MediaEngine()
patched = aioice.ice.get_host_addresses is not original
print("after engine start:", patched, aioice.ice.get_host_addresses(True, False)[:1])
engine.stop()
"""


def probe(**env: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, env={**os.environ, **env}
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.splitlines()


def test_import_labkit_leaves_aioice_alone_and_loads_no_server() -> None:
    lines = probe(LABKIT_ICE="loopback")
    assert lines[0] == "aioice changed by import: False"
    assert lines[1] == "aiohttp.web loaded: False"
    assert lines[2] == "after engine start: True ['127.0.0.1']"


def test_in_host_mode_the_engine_leaves_aioice_as_it_was() -> None:
    lines = probe(LABKIT_ICE="host")
    assert lines[0] == "aioice changed by import: False"
    assert lines[2].startswith("after engine start: False")
