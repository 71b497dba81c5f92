"""The local backend's signing key, kept on disk so that tokens outlive a restart of ``labkit serve``."""

from __future__ import annotations

import os
from pathlib import Path

from .local_client import SECRET_ENV
from .token_signer import generate_secret

STATE_DIR_ENV = "LABKIT_STATE_DIR"
KEY_FILE = "signing-key"


def default_state_dir() -> Path:
    """``$LABKIT_STATE_DIR``, else ``$XDG_STATE_HOME/labkit``, else ``~/.local/state/labkit``."""
    if explicit := os.environ.get(STATE_DIR_ENV):
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "labkit"


def persistent_secret(state_dir: Path | None = None) -> str:
    """``$LABKIT_SECRET`` if set; else the key in ``state_dir/signing-key``, made (mode 0600) the first time.

    A service that restarts with the same key accepts the tokens it issued before, so agents
    reconnect and their calls go on.
    """
    if explicit := os.environ.get(SECRET_ENV):
        return explicit
    path = (state_dir or default_state_dir()) / KEY_FILE
    try:
        key = path.read_text().strip()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_secret()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")
    return key
