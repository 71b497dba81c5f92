"""Keeps pytest's failure reports alive on CPython 3.11, whose ``ast.parse`` is not re-entrant.

CPython 3.11 (seen on 3.11.7) counts the depth of the tree it is building in the interpreter's shared
AST state (``PyAST_mod2obj``; python/cpython gh-106905). A second ``ast.parse`` that runs while a first
is still building its tree (from another thread, or from a finalizer that a garbage collection runs in
the middle of the build, such as a traceback logged for a task whose exception was never retrieved)
leaves the counter off, and the first raises ``SystemError: AST constructor recursion depth mismatch``.
pytest parses a test's source to report its failure, so a failing test became an INTERNALERROR that
ended the run and hid which test had failed. The guard makes each parse atomic (no collection, one
parse at a time) and parses once more if the error is seen all the same.
"""

from __future__ import annotations

import ast
import gc
import sys
import threading
from typing import Any

_MISMATCH = "AST constructor recursion depth mismatch"
_lock = threading.RLock()
_parse = ast.parse


def _guarded_parse(*args: Any, **kwargs: Any) -> Any:
    with _lock:
        collecting = gc.isenabled()
        gc.disable()
        try:
            try:
                return _parse(*args, **kwargs)
            except SystemError as error:
                if _MISMATCH not in str(error):
                    raise
                return _parse(*args, **kwargs)  # the shared counter is reset at the start of each parse
        finally:
            if collecting:
                gc.enable()


def install() -> None:
    """Guards ``ast.parse`` for this process (CPython before 3.12 only)."""
    if sys.version_info < (3, 12) and ast.parse is _parse:
        ast.parse = _guarded_parse
