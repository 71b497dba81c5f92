"""Drive notebooks in real JupyterLab: open and run them, and read what their cells print."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from .chromium_lab import Lab

KERNEL_IDLE = """() => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = widget && widget.sessionContext && widget.sessionContext.session
    && widget.sessionContext.session.kernel;
  return Boolean(kernel && kernel.status === 'idle');
}"""


async def open_and_run(page: Any, lab: Lab, notebook: str) -> None:
    await page.goto(lab.notebook_url(notebook))
    await page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    # not awaited in the page: the command's promise settles only when the last cell finishes
    await page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


async def run_cells(page: Any, first: int, last: int | None = None) -> None:
    """Run the open notebook's cells ``first`` to ``last`` (inclusive; default: just ``first``)."""
    await page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    for index in range(first, (first if last is None else last) + 1):
        await page.evaluate(
            """(index) => {
              const notebook = window.jupyterapp.shell.currentWidget.content;
              notebook.activeCellIndex = index;
              window.jupyterapp.commands.execute('notebook:run-cell');
            }""",
            index,
        )


# Every text output of the open notebook, read from its model (JupyterLab renders only the cells in view).
NOTEBOOK_TEXT = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
  const texts = [];
  for (let i = 0; i < cells.length; i++) {
    const outputs = cells.get(i).outputs;
    for (let j = 0; outputs && j < outputs.length; j++) {
      const output = outputs.get(j).toJSON();
      if (output.text) texts.push(Array.isArray(output.text) ? output.text.join('') : output.text);
      if (output.ename) texts.push(`${output.ename}: ${output.evalue}`);
    }
  }
  return texts.join('\\n');
}"""


async def result(page: Any, prefix: str, timeout: float = 60.0) -> str:
    """The notebook's output line that starts with ``RESULT <prefix>``."""
    return await output_line(page, f"RESULT {prefix}", timeout)


async def output_line(page: Any, start: str, timeout: float = 60.0) -> str:
    """The first output line of the open notebook that starts with ``start``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        text = str(await page.evaluate(NOTEBOOK_TEXT))
        match = re.search(rf"^{re.escape(start)}.*", text, re.MULTILINE)
        if match is not None:
            return match.group(0)
        if "Error: " in text or asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no {start!r} in the notebook's outputs:\n{text[-3000:]}")
        await asyncio.sleep(0.2)
