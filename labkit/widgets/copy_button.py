"""A button that copies a value to the clipboard (the page side is a tiny anywidget module)."""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

_ESM = """
function render({ model, el }) {
  const button = document.createElement("button");
  button.className = "jupyter-widgets jupyter-button widget-button labkit-copy";
  const label = () => { button.textContent = model.get("description"); };
  label();
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(model.get("value"));
      button.textContent = "Copied";
    } catch (error) {
      window.prompt("Copy this:", model.get("value"));  // no clipboard access: let the person copy it
    }
    model.set("copies", model.get("copies") + 1);
    model.save_changes();
    setTimeout(label, 1500);
  });
  model.on("change:description", label);
  el.appendChild(button);
}
export default { render };
"""


class CopyButton(anywidget.AnyWidget):
    """Copies ``value`` to the clipboard when clicked; ``copies`` counts the clicks."""

    _esm = _ESM
    value = traitlets.Unicode("").tag(sync=True)
    description = traitlets.Unicode("Copy").tag(sync=True)
    copies = traitlets.Int(0).tag(sync=True)

    def __init__(self, value: str = "", **kwargs: Any) -> None:
        super().__init__(value=value, **kwargs)
