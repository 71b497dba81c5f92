"""What a learner meets first: a short README whose links work, and notebooks with exercises and notes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LINK = re.compile(r"\]\(([^)\s]+)\)")


def markdown_of(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")


def slug(heading: str) -> str:
    """The anchor MkDocs gives a heading (Python-Markdown's toc)."""
    return re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", heading).strip().lower())


def anchors(page: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in page.read_text().splitlines() if line.startswith("#")}


def broken_links(text: str, base: Path) -> list[str]:
    broken = []
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        page = (base / path).resolve() if path else None
        if page is None or not page.exists() or (anchor and page.suffix == ".md" and anchor not in anchors(page)):
            broken.append(target)
    return broken


def test_the_readme_is_a_short_front_door_whose_links_work() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    for section in ("## Two commands", "## A first call", "## Start here: the notebooks", "## Where to go next"):
        assert section in readme
    assert broken_links(readme, ROOT) == []
    for notebook in NOTEBOOKS:  # the roadmap names every notebook, with a time
        assert re.search(rf"\[`{notebook.stem}`\]\(notebooks/{notebook.name}\) \| .+ \| \d+ min \|", readme), notebook


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_each_notebook_has_exercises_with_answers_a_teachers_note_and_working_links(notebook: Path) -> None:
    text = markdown_of(notebook)
    exercises = text.count("<summary>Answer</summary>") + text.count("*Expected:*")
    assert exercises >= 3, f"{notebook.name}: {exercises} exercises with an answer"
    assert "## For teachers" in text
    assert "../docs/glossary.md" in text, "the notebook links to the glossary"
    assert broken_links(text, notebook.parent) == []


def test_the_glossary_defines_the_words_the_notebooks_use() -> None:
    terms = anchors(ROOT / "docs" / "glossary.md")
    for word in ("sdp", "ice", "candidate", "stun", "turn", "dtls", "srtp", "rtp", "rtcp", "sr-and-rr", "nack"):
        assert word in terms
    for word in ("pli", "remb", "jitter-buffer", "sfu", "mesh"):
        assert word in terms
