"""Every tutorial notebook runs top to bottom in a real kernel (nbclient), with no error output."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS][:1] == ["01_first_call.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
        or (output.get("name") == "stderr" and "Traceback" in output.get("text", ""))
    ]
    assert not errors, errors
    shown = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.outputs
        if {"image/png", "application/vnd.jupyter.widget-view+json"} & set(o.get("data", {}))
    ]
    assert shown, "the notebook shows pictures or widgets"
