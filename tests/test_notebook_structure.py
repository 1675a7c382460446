"""Every numbered notebook follows the course's pattern, so new ones cannot drift."""

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_notebooks_are_numbered_in_order():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(1, len(numbers) + 1)), numbers
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", p.name) for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_opening_and_closing(path):
    cells = nbformat.read(path, 4).cells
    opening = cells[0].source
    assert opening.startswith(f"# {path.name[:2]} · ")
    assert f"notebooks/{path.name})" in opening and "colab-badge.svg" in opening, "Open in Colab badge"
    assert "**In this notebook you will:**" in opening, "learning goals"
    code = [c.source for c in cells if c.cell_type == "code"]
    assert 'IS_COLAB = "google.colab" in sys.modules' in code[0] and "REPO_URL = " in code[0]
    assert "mnistsum.notebook.setup()" in code[1] and code[1].startswith("# NBVAL_IGNORE_OUTPUT")
    markdown = [c.source for c in cells if c.cell_type == "markdown"]
    assert any(m.startswith("## Summary") for m in markdown), "a summary before the exercises"
    assert any(m.startswith("## Exercises") for m in markdown)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_with_outputs_of_a_real_run(path):
    nb = nbformat.read(path, 4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "every code cell was run (nbval needs the counts)"
    counts = [c.execution_count for c in code]
    assert counts == sorted(counts), "cells were run top to bottom"
    assert any(o.get("output_type") == "display_data" for c in code for o in c.outputs), "plots are shown"
    for cell in code:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "QUICK (CI smoke test" not in text, "committed outputs must come from a full run"
        if "tensorflow" in cell.source or "I0000" in text:
            assert cell.source.startswith("# NBVAL_IGNORE_OUTPUT") or "I0000" not in text
