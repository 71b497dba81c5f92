"""What a fresh machine relies on: the environment file, the typed marker and the console script."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from importlib import metadata
from pathlib import Path

import yaml

import labkit

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_is_a_valid_conda_environment() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["name"] == "labkit"
    deps = env["dependencies"]
    assert "python=3.11" in deps
    assert "pip" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert any(line.startswith("-e .") and "dev" in line for line in pip), pip


def test_pyproject_declares_the_runtime_and_dev_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"]).lower()
    for name in [
        "aiortc",
        "av",
        "aiohttp",
        "pyjwt",
        "numpy",
        "matplotlib",
        "ipywidgets",
        "ipywebrtc",
        "anywidget",
        "jupyterlab",
        "azure-communication-identity",
    ]:
        assert name in runtime, name
    dev = " ".join(project["optional-dependencies"]["dev"]).lower()
    for name in ["pytest", "pytest-asyncio", "nbclient", "ipykernel", "playwright", "ruff", "mypy"]:
        assert name in dev, name
    assert project["scripts"]["labkit"] == "labkit.cli:main"


def test_package_is_typed_and_the_console_script_runs() -> None:
    assert (Path(labkit.__file__).parent / "py.typed").exists()
    assert metadata.version("labkit") == labkit.__version__
    script = shutil.which("labkit", path=str(Path(sys.executable).parent))
    assert script, "the labkit console script is not installed"
    out = subprocess.run([script, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"labkit {labkit.__version__}"


def test_make_lab_starts_jupyterlab_as_whoever_runs_it(tmp_path: Path) -> None:
    """`make lab` serves JupyterLab on notebooks/, as root too (JupyterLab wants --allow-root there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = f"--no-browser --port={port} --ServerApp.token=lab-test"
    lab = subprocess.Popen(
        ["make", "-s", "lab", f"LAB_ARGS={args}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path)},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token=lab-test", timeout=2) as reply:
                    names = {item["name"] for item in json.load(reply)["content"]}
                break
            except OSError:
                assert lab.poll() is None, lab.stdout.read() if lab.stdout else ""
                time.sleep(0.5)
        else:
            raise AssertionError("JupyterLab did not answer within 90 s")
        assert "01_first_call.ipynb" in names
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        lab.wait(timeout=30)
