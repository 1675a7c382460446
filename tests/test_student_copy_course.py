"""The student copy of the real course: no solution text, and it runs top to bottom under nbval."""

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mnistsum.student import make_student_copy

ROOT = Path(__file__).resolve().parents[1]
REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    make_student_copy(ROOT / "notebooks", out)
    return out


def solution_lines() -> set[str]:
    lines = set()
    for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"):
        for cell in nbformat.read(path, 4).cells:
            for region in REGION.findall(cell.source):
                # signatures of functions defined in a solution stay, by design; bodies must go
                lines |= {line.strip() for line in region.splitlines()
                          if len(line.strip()) > 12 and not line.strip().startswith("def ")}
    return lines


def test_every_numbered_notebook_has_checked_exercises():
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        sources = [c.source for c in nbformat.read(path, 4).cells]
        checks = [s for s in sources if re.fullmatch(r"ex\d\d\.q\d\.check\(\w+\)", s.strip())]
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


def test_student_copy_runs_under_nbval_and_reports_not_attempted(student_dir):
    env = {**os.environ, "MNISTSUM_QUICK": "1"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                          "--nbval-lax", "--nbval-current-env", str(student_dir)],
                         capture_output=True, text=True, env=env, cwd=student_dir, timeout=1200)
    assert run.returncode == 0, run.stdout[-3000:]
    assert re.search(r"\d+ passed", run.stdout)
