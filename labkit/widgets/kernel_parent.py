"""Keeping each cell's messages parented to its own request, in ipykernel 7.4 and later.

ipykernel 7.4 dispatches a widget's ``comm_msg`` while an async cell awaits (what the
browser bridge needs). Its ``Kernel.shell_main`` reads the shell parent before it awaits
the comm's task, and sets it back afterwards, in the context every shell message shares.
If the cell finished and the next cell started in between, that puts back the *previous*
cell's parent: the new cell's outputs and its final ``status: idle`` then name the
previous request, and JupyterLab, which waits for an idle naming the request, shows the
cell as running (``[*]``) for good. Seen in 3 of 17 Run Alls of notebook 03, and traced
with a log of ``set_parent`` calls: ``shell_main`` restored a finished cell's parent one
millisecond after the next cell's ``dispatch_shell`` had set its own.

``keep_cell_parents()`` works round it on the running kernel instance, once: while a cell
runs, a parent set to another ``execute_request`` (only that stale restore does it) is
replaced by the running cell's, and each cell's parent is set again as it finishes, before
the kernel publishes ``idle``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

_INSTALLED = "_labkit_keeps_cell_parents"


def keep_cell_parents() -> bool:
    """Install the workaround in this process's ipykernel, if there is one; whether it is installed."""
    try:
        from ipykernel.kernelbase import Kernel
    except ImportError:  # not in a kernel: nothing to do
        return False
    if not Kernel.initialized():
        return False
    kernel = Kernel.instance()
    if getattr(kernel, _INSTALLED, False):
        return True
    execute_request: Callable[..., Awaitable[Any]] | None = kernel.shell_handlers.get("execute_request")
    if execute_request is None:
        return False
    set_parent: Callable[..., None] = kernel.set_parent
    running: list[tuple[Any, dict[str, Any]]] = []  # the cell that runs now: (ident, parent)

    def keep_parent(ident: Any, parent: dict[str, Any], channel: str = "shell") -> None:
        header = parent.get("header", {}) if isinstance(parent, dict) else {}
        if (
            channel == "shell"
            and running
            and header.get("msg_type") == "execute_request"
            and parent is not running[-1][1]
        ):
            ident, parent = running[-1]  # a stale restore: keep the running cell's parent
        set_parent(ident, parent, channel=channel)

    async def execute_and_keep_parent(stream: Any, ident: Any, parent: dict[str, Any]) -> Any:
        running.append((ident, parent))
        try:
            return await execute_request(stream, ident, parent)
        finally:
            running.pop()  # cells run one at a time (the kernel's lock): this one is the last
            set_parent(ident, parent, channel="shell")  # the idle that follows names this cell

    kernel.set_parent = keep_parent  # type: ignore[method-assign]
    kernel.shell_handlers["execute_request"] = execute_and_keep_parent
    setattr(kernel, _INSTALLED, True)
    return True
