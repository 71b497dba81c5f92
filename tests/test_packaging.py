"""What a fresh machine relies on: the environment file, the typed marker and the console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
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
