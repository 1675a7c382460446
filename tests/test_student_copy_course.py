"""The student copy of the real course: no solution text, and the learners' exercises run.

Solutions live only in each notebook's ``## Exercises`` section, and every other
cell of the student copy is the instructor's, which ``pytest --nbval`` runs in
full. So the exercises are run as sheets (set-up and exercises only, a few
seconds each), every notebook's, and one notebook's whole student copy runs top
to bottom under nbval, as a learner would run it.
"""

import ast
import builtins
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mnistsum.student import exercise_sheet, make_student_copy

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
MAGIC = re.compile(r"^(\s*)[%!].*$", re.M)
CHECK_CELL = re.compile(r"ex\d\d\.q\d\.check\(\w+\)")  # a checker cell: ex03.q1.check(answer)
WHOLE_COPY = "03_metric.ipynb"  # the whole student copy of this one runs under nbval (its lesson is quick)


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    make_student_copy(ROOT / "notebooks", out)
    return out


def solution_lines() -> set[str]:
    lines = set()
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, 4).cells:
            for region in REGION.findall(cell.source):
                # signatures of functions defined in a solution stay, by design; bodies must go
                lines |= {line.strip() for line in region.splitlines()
                          if len(line.strip()) > 12 and not line.strip().startswith("def ")}
    return lines


def test_every_numbered_notebook_has_checked_exercises():
    for path in NOTEBOOKS:
        sources = [c.source for c in nbformat.read(path, 4).cells]
        checks = [s for s in sources if CHECK_CELL.fullmatch(s.strip())]
        assert len(checks) >= 2, f"{path.name} has {len(checks)} checked exercises"
        assert any(s.startswith("## Exercises") for s in sources), path.name


def test_student_copy_has_no_solution_text(student_dir):
    secrets = solution_lines()
    assert secrets, "the instructor notebooks should contain solutions"
    for path in sorted(student_dir.glob("*.ipynb")):
        text = "\n".join(cell.source for cell in nbformat.read(path, 4).cells)
        assert "BEGIN SOLUTION" not in text
        leaked = [line for line in secrets if line in text]
        assert not leaked, f"{path.name} leaks {leaked[:3]}"


def undefined_names(cells) -> set[str]:
    """Names the code cells read but neither define nor import (builtins aside); magics count as ``pass``."""
    defined, read = set(dir(builtins)), set()
    for cell in cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(MAGIC.sub(r"\1pass", cell.source))):
            if isinstance(node, ast.Name):
                (read if isinstance(node.ctx, ast.Load) else defined).add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.arg):
                defined.add(node.arg)
            elif isinstance(node, ast.alias):
                defined.add((node.asname or node.name).split(".")[0])
    return read - defined


def test_undefined_names_sees_what_a_cell_needs():
    cells = [nbformat.v4.new_code_cell("import numpy as np\n%matplotlib inline\nx = np.ones(3)"),
             nbformat.v4.new_code_cell("def f(a):\n    return a + x + y\nprint(f(1), model)")]
    assert undefined_names(cells) == {"y", "model"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_need_only_the_set_up(path):
    """The instructor's sheet (solutions in) reads no name from the lesson, so the sheets below are the real thing."""
    missing = undefined_names(exercise_sheet(nbformat.read(path, 4), path.name).cells)
    assert not missing, f"{path.name}: its exercises use {sorted(missing)} from the lesson; import them in the " \
                        "exercises' set-up cell"


@pytest.fixture(scope="module")
def sheets(tmp_path_factory):
    out = tmp_path_factory.mktemp("sheets")
    make_student_copy(ROOT / "notebooks", out, exercises_only=True)
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_student_sheet_runs_and_every_checker_says_not_attempted(path, sheets, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("MNISTSUM_QUICK", "1")
    nb = nbformat.read(sheets / path.name, 4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(sheets)}}).execute()  # raises on any cell error
    checks = [c for c in nb.cells if c.cell_type == "code" and CHECK_CELL.fullmatch(c.source.strip())]
    assert len(checks) >= 2
    for check in checks:
        assert "Not attempted yet" in json.dumps(check.outputs), f"{path.name}: {check.source} said {check.outputs}"


def test_a_whole_student_copy_runs_under_nbval(student_dir):
    env = {**os.environ, "MNISTSUM_QUICK": "1"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                          "--nbval-lax", "--nbval-current-env", WHOLE_COPY],
                         capture_output=True, text=True, env=env, cwd=student_dir, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:]
    assert re.search(r"\d+ passed", run.stdout)
