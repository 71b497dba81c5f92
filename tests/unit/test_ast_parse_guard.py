"""pytest can report a failure while finalizers parse code (the guard in tests/ast_parse_guard.py)."""

from __future__ import annotations

import ast
import gc
from pathlib import Path

SOURCE = (Path(__file__).parents[2] / "labkit" / "calling" / "call.py").read_text()


def _parse_deeper(levels: int) -> ast.Module:
    return ast.parse("x = 1") if levels == 0 else _parse_deeper(levels - 1)


class _ParsesWhenCollected:
    """A reference cycle whose finalizer parses code, as a logged traceback does on Python 3.11."""

    def __init__(self) -> None:
        self.cycle = self

    def __del__(self) -> None:
        _parse_deeper(30)


def test_a_parse_survives_finalizers_that_parse_in_the_middle_of_it() -> None:
    threshold = gc.get_threshold()
    gc.set_threshold(1)  # collect at nearly every allocation, so a collection lands inside the parse
    try:
        for _ in range(20):
            for _ in range(50):
                _ParsesWhenCollected()
            tree = ast.parse(SOURCE)
            assert any(isinstance(node, ast.ClassDef) and node.name == "Call" for node in tree.body)
    finally:
        gc.set_threshold(*threshold)
        gc.collect()
