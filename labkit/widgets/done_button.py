"""A notebook's last button: "when you are done", it hangs up and releases everything, once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import ipywidgets as widgets

from .error_bar import ErrorBar


class DoneButton(widgets.VBox):
    """Runs ``clean_up`` once when pressed, then says so (labkit).

    Run All displays it and stops, so the calls, pictures and plots above stay live to look at;
    the person presses it when they have seen enough. ``await button.press()`` does the same from code.
    """

    def __init__(
        self,
        clean_up: Callable[[], Awaitable[object]],
        description: str = "Hang up and clean up",
        done_message: str = "Done: the calls are over and the devices released.",
        **kwargs: Any,
    ) -> None:
        self._clean_up = clean_up
        self.done_message = done_message
        self.button = widgets.Button(
            description=description, icon="power-off", button_style="warning", layout={"width": "auto"}
        )
        self.status = widgets.Label("")
        self.errors = ErrorBar()
        self.done = False
        self._task: asyncio.Task[Any] | None = None
        super().__init__([widgets.HBox([self.button, self.status]), self.errors], **kwargs)
        self.button.on_click(lambda _: self._start())

    def _start(self) -> asyncio.Task[Any]:
        if self._task is None:
            self.button.disabled = True
            self.status.value = "cleaning up..."
            self._task = self.errors.run(self._run())
        return self._task

    async def _run(self) -> None:
        try:
            await self._clean_up()
        except BaseException:
            self.status.value = ""
            self.button.disabled = False
            self._task = None
            raise
        self.done = True
        self.status.value = self.done_message

    async def press(self) -> None:
        """What a click does, awaited."""
        await self._start()
