"""`labkit experiment`, run as a user runs it: a real process sweeps loss over real calls, both receive paths."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path


def test_a_loss_sweep_from_the_shell_compares_the_receive_paths(tmp_path: Path) -> None:
    table, figure = tmp_path / "loss.csv", tmp_path / "loss.png"
    sweep = ["--vary", "loss", "--values", "0,0.3", "--seconds", "3", "--receive-path", "both"]
    result = subprocess.run(
        [sys.executable, "-m", "labkit", "experiment", *sweep, "--csv", str(table), "--plot", str(figure)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "4/4 loss=0.3 (aiortc)" in result.stderr  # the progress bar
    rows = {(float(row["value"]), row["receive_path"]): row for row in csv.DictReader(table.open())}
    assert set(rows) == {(0.0, "labkit"), (0.0, "aiortc"), (0.3, "labkit"), (0.3, "aiortc")}
    clean, ours, theirs = rows[(0.0, "labkit")], rows[(0.3, "labkit")], rows[(0.3, "aiortc")]
    assert float(clean["frames_per_second"]) > 20  # of 30; a busy machine's camera and encoder drop a few
    assert float(ours["audio_present"]) > 0.95  # concealed, so it plays on
    assert float(ours["audio_concealed"]) > 0.2
    # the loss is what is concealed: a clean call conceals nothing on an idle machine (0.099 seen once
    # with a core half busy, as the process started)
    assert float(clean["audio_concealed"]) < 0.5 * float(ours["audio_concealed"])
    assert float(theirs["audio_present"]) < float(ours["audio_present"]) - 0.3  # aiortc's buffer stalls
    their_latency = float(theirs["latency_p50_ms"] or "inf")  # empty: aiortc's path showed no frame at all
    assert float(ours["latency_p50_ms"]) < their_latency
    assert figure.stat().st_size > 10_000


def test_a_bad_sweep_says_what_is_wrong() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "labkit", "experiment", "--vary", "loss", "--values", "0,1.5", "--seconds", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "loss" in result.stderr
