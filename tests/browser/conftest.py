"""Fixtures for the browser tests: a real JupyterLab, and pages of Debian's Chromium."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from .chromium_lab import CHROMIUM, CHROMIUM_FLAGS, HERE, Lab, flags_with, open_page, running_lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run 'apt-get install -y chromium' (make test installs it)")
    root = tmp_path_factory.mktemp("lab")
    for notebook in HERE.glob("*.ipynb"):
        shutil.copy(notebook, root / notebook.name)
    with running_lab(root) as server:
        yield server


@pytest.fixture
async def page() -> AsyncIterator[object]:
    async for opened in open_page(CHROMIUM_FLAGS):
        yield opened


@pytest.fixture
async def denying_page() -> AsyncIterator[object]:
    """A page whose browser refuses every camera and microphone request (NotAllowedError)."""
    async for opened in open_page(flags_with("--use-fake-ui-for-media-stream", "deny")):
        yield opened
