"""The README's first-call example runs exactly as printed."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_first_call_example_runs(tmp_path: Path) -> None:
    match = re.search(r"## A first call\n\n```python\n(.*?)```", README.read_text(), re.S)
    assert match, "the README lost its first-call example"
    body = textwrap.indent(match.group(1), "    ")
    script = tmp_path / "first_call.py"
    script.write_text(
        "import asyncio\n\nasync def main():\n"
        + body
        + "    await alice_client.dispose()\n    await bob_client.dispose()\n    service.stop()\n"
        + "\nasyncio.run(main())\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Bob: call from Alice" in result.stdout
    assert "code=0, sub_code=0" in result.stdout
