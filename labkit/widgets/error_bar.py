"""The error bar: what went wrong and what to do, in the UI instead of a traceback."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Coroutine
from typing import Any

import ipywidgets as widgets
import traitlets

from ..errors import LabkitError

logger = logging.getLogger(__name__)


class ErrorBar(widgets.HTML):
    """Shows the latest error with a suggestion; hidden while there is none."""

    message = traitlets.Unicode("").tag(sync=False)
    hint = traitlets.Unicode("").tag(sync=False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.layout.display = "none"

    def show(self, error: BaseException | str, hint: str = "") -> None:
        if isinstance(error, LabkitError):
            message, hint = error.message, hint or error.hint or ""
        elif isinstance(error, BaseException):
            message = f"{type(error).__name__}: {error}"
        else:
            message = error
        self.message, self.hint = message, hint
        advice = f"<br><small>{html.escape(hint)}</small>" if hint else ""
        self.value = (
            '<div style="background:#fdecea;color:#611a15;padding:6px 10px;border-radius:4px">'
            f"⚠ {html.escape(message)}{advice}</div>"
        )
        self.layout.display = None

    def clear(self) -> None:
        self.message = self.hint = ""
        self.value = ""
        self.layout.display = "none"

    def run(self, action: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``action`` on the current loop (a button's click); any error lands in this bar."""

        async def guarded() -> Any:
            try:
                result = await action
            except Exception as exc:  # shown to the person, not as a traceback in the log
                logger.debug("a widget action failed", exc_info=True)
                self.show(exc)
                return None
            self.clear()
            return result

        task = asyncio.get_event_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
