"""`labkit demo`, the main job, run as a user runs it: a real process, its timeline and its picture."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from labkit.media import frame_code


def test_demo_runs_a_narrated_call_with_every_control(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "labkit", "demo", "--seconds", "8", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for expected in [
        "Alice    call state: Connected",
        "Bob      call state: Connected",
        "Bob        Alice muted",
        "Bob        Alice's video unavailable",
        "switches to Synthetic camera 2",
        "Alice    call state: LocalHold",
        "Bob      call state: RemoteHold",
        "Bob      call ended: 0/0",
        "demo     done",
    ]:
        assert expected in out, f"{expected!r} missing from:\n{out}"
    rates = [int(fps) for fps in re.findall(r"Alice→Bob\s+(\d+) fps", out)]
    assert max(rates) >= 25, rates
    kbps = [int(k) for k in re.findall(r"Alice→Bob\s+\d+ fps\s+(\d+) kbps", out)]
    assert max(kbps) > 100, kbps
    sheet = np.asarray(Image.open(tmp_path / "remote-views.png").convert("RGB"))
    assert sheet.shape == (240, 640, 3)
    stamps = [frame_code.decode(sheet[:, x : x + 320]) for x in (0, 320)]
    assert all(stamp is not None for stamp in stamps), "each tile is a real received frame"
    assert "Traceback" not in result.stderr


def test_demo_group_call(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "labkit", "demo", "--group", "3", "--seconds", "2", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "full mesh connected" in result.stdout
    sheet = np.asarray(Image.open(tmp_path / "remote-views.png").convert("RGB"))
    assert sheet.shape == (480, 1280, 3)  # 6 remote views (3 members x 2 peers), 4 per row


def test_demo_refuses_a_duration_too_short_to_show_anything(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "labkit", "demo", "--seconds", "3", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--seconds 3 is too short" in result.stderr
    assert "Use --seconds 8 or more" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir()), "nothing was started or written"
