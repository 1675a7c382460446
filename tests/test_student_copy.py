"""The student copy: solutions out, placeholders in, everything else kept, and it still runs."""

import argparse
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from mnistsum.student import add_parser, exercise_sheet, make_student_copy, student_source

SETUP = "import numpy as np\nfrom mnistsum.exercises import ____, ex02, ex03"
FUNCTION_SOLUTION = '''\
def overlaps(box_a, box_b):
    """True when the boxes share a pixel."""
    ### BEGIN SOLUTION
    ax0, ay0, ax1, ay1 = box_a  # SECRET-1
    bx0, by0, bx1, by1 = box_b
    return ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1
    ### END SOLUTION'''
ASSIGNMENT_SOLUTION = """\
### BEGIN SOLUTION
y_true = np.arange(46)  # SECRET-2
answer = float(np.mean(np.rint(y_true + 0.5) == y_true))
### END SOLUTION
print(answer)"""
LOOP_SOLUTION = """\
for i in range(2):
    ### BEGIN SOLUTION
    print("SECRET-3", i)
    ### END SOLUTION"""
DEF_SOLUTION = '''\
### BEGIN SOLUTION
def double(x):
    """Twice x."""
    return 2 * x  # SECRET-4
### END SOLUTION'''
CHECKERS = ("ex02.q1.check(overlaps)", "ex03.q1.check(answer)")


def cell(source, output=None, count=None):
    c = new_code_cell(source, execution_count=count)
    if output is not None:
        c.outputs = [new_output("stream", name="stdout", text=output)]
    return c


def synthetic_notebook():
    return new_notebook(cells=[
        new_markdown_cell("# 99 · A synthetic notebook\n\nExercises below."),
        cell(SETUP, count=1),
        cell(FUNCTION_SOLUTION, count=2),
        cell(ASSIGNMENT_SOLUTION, output="0.5\n", count=3),
        cell(CHECKERS[0], output="Correct! overlaps is right.\n", count=4),
        cell(CHECKERS[1], output="Correct! 0.5\n", count=5),
        cell("total = 1 + 1\nprint(total)", output="2\n", count=6),
        cell(LOOP_SOLUTION, output="SECRET-3 0\n", count=7),
        cell(DEF_SOLUTION, count=8),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


@pytest.fixture
def course(tmp_path):
    src = tmp_path / "notebooks"
    src.mkdir()
    nbformat.write(synthetic_notebook(), src / "99_synthetic.ipynb")
    nbformat.write(new_notebook(cells=[cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")]), src / "scratch.ipynb")
    (src / "nbval_sanitize.cfg").write_text("[timings]\nregex: \\d+s\nreplace: TIME\n")
    return src


def test_solutions_are_replaced_and_everything_else_kept(course, tmp_path):
    out = tmp_path / "student"
    written = make_student_copy(course, out)
    assert written == [out / "99_synthetic.ipynb", out / "nbval_sanitize.cfg"]  # scratch.ipynb is no NN_ notebook
    assert (out / "nbval_sanitize.cfg").read_text() == (course / "nbval_sanitize.cfg").read_text()
    text = (out / "99_synthetic.ipynb").read_text()
    assert "SECRET" not in text and "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    assert "ax0 < bx1" not in text and "np.arange(46)" not in text and "Twice x" not in text

    nb = nbformat.read(out / "99_synthetic.ipynb", as_version=4)
    original = synthetic_notebook()
    assert [c.cell_type for c in nb.cells] == [c.cell_type for c in original.cells]
    cells = [c.source for c in nb.cells]
    assert cells[0] == original.cells[0].source and cells[1] == SETUP
    assert cells[2] == ('def overlaps(box_a, box_b):\n    """True when the boxes share a pixel."""\n'
                        "    # YOUR CODE HERE\n    raise NotImplementedError")
    assert cells[3] == "# YOUR CODE HERE\ny_true = ____\nanswer = ____\nprint(answer)"
    assert cells[7] == "for i in range(2):\n    # YOUR CODE HERE\n    ____"
    assert cells[8] == "# YOUR CODE HERE\ndef double(x):\n    raise NotImplementedError"  # the signature only
    assert tuple(cells[4:6]) == CHECKERS and cells[6] == original.cells[6].source
    for index in (2, 3, 7, 8):  # solution cells: outputs and counts stripped
        assert nb.cells[index].outputs == [] and nb.cells[index].execution_count is None
    for index in (4, 5):  # checker cells: kept, without the instructor's "Correct!"
        assert nb.cells[index].outputs == [] and nb.cells[index].execution_count is None
    assert nb.cells[6].outputs == original.cells[6].outputs and nb.cells[6].execution_count == 6
    assert nb.cells[1].execution_count == 1
    nbformat.validate(nb)
    # the instructor's notebook is untouched
    assert "SECRET-1" in (course / "99_synthetic.ipynb").read_text()


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n### END SOLUTION", "without a ### BEGIN SOLUTION"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n### END SOLUTION", "inside the solution region"),
])
def test_unbalanced_markers_name_the_notebook_and_cell(source, message, tmp_path):
    src = tmp_path / "notebooks"
    src.mkdir()
    nbformat.write(new_notebook(cells=[new_markdown_cell("hi"), cell("x = 0"), cell(source)]), src / "03_bad.ipynb")
    with pytest.raises(ValueError, match=rf"03_bad\.ipynb, cell 2, line \d+: .*{message}"):
        make_student_copy(src, tmp_path / "student")
    assert not (tmp_path / "student").exists()  # nothing half-written


def test_refuses_to_overwrite_the_instructor_notebooks(course):
    with pytest.raises(ValueError, match="overwrite the solutions"):
        make_student_copy(course, course)
    with pytest.raises(ValueError, match="no notebooks"):
        make_student_copy(course / "missing", course / "out")


def test_placeholder_import_is_added_when_missing(tmp_path):
    src = tmp_path / "notebooks"
    src.mkdir()
    nbformat.write(new_notebook(cells=[cell("### BEGIN SOLUTION\nanswer = 3\n### END SOLUTION")]), src / "01_x.ipynb")
    make_student_copy(src, tmp_path / "out")
    nb = nbformat.read(tmp_path / "out" / "01_x.ipynb", as_version=4)
    assert nb.cells[0].source == "from mnistsum.exercises import ____\n# YOUR CODE HERE\nanswer = ____"


def test_student_source_edge_cases():
    # a multi-line signature, tuple and annotated assignments, magics (regex fallback)
    signature = "def f(\n    a,\n    b,\n) -> int:\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION"
    assert student_source(signature).endswith(") -> int:\n    # YOUR CODE HERE\n    raise NotImplementedError")
    assert student_source("### BEGIN SOLUTION\na, b = 1, 2\nc: int = 3\nc = 4\n### END SOLUTION") == \
        "# YOUR CODE HERE\na, b = ____, ____\nc = ____"
    assert student_source("### BEGIN SOLUTION\n%time x = 1\ny = 2\n### END SOLUTION") == "# YOUR CODE HERE\ny = ____"
    assert student_source("### BEGIN SOLUTION\nprint(1)\n### END SOLUTION") == "# YOUR CODE HERE\n____"
    assert student_source("x = 1") == "x = 1"


def test_cli_subcommand_prints_the_written_paths(course, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["student-copy", "--out", str(tmp_path / "s"), "--src", str(course)])
    args.func(args)
    assert capsys.readouterr().out.split() == [str(tmp_path / "s" / "99_synthetic.ipynb"),
                                               str(tmp_path / "s" / "nbval_sanitize.cfg")]
    assert not args.exercises_only
    assert parser.parse_args(["student-copy", "--out", "s", "--exercises-only"]).exercises_only
    with pytest.raises(SystemExit):
        parser.parse_args(["student-copy"])  # --out is required


def lesson_notebook():
    """A notebook shaped like the course's: title, set-up, a lesson, exercises."""
    return new_notebook(cells=[
        new_markdown_cell("# 98 · A lesson"),
        new_markdown_cell("## Set-up\n\nRun this first."),
        cell(SETUP, count=1),
        new_markdown_cell("## 1. The lesson"),
        cell("lesson = 'slow training'", count=2),
        new_markdown_cell("## Summary"),
        new_markdown_cell("## Exercises"),
        cell(FUNCTION_SOLUTION, count=3),
        cell(CHECKERS[0], output="Correct! overlaps is right.\n", count=4),
    ])


def test_exercise_sheet_keeps_the_title_the_set_up_and_the_exercises():
    nb = lesson_notebook()
    sheet = exercise_sheet(nb, "98_lesson.ipynb")
    assert [c.source for c in sheet.cells] == [c.source for c in nb.cells[:3] + nb.cells[6:]]
    assert len(nb.cells) == 9  # the notebook itself is left as it was


def test_exercises_only_copy_is_the_student_sheet(tmp_path):
    src = tmp_path / "notebooks"
    src.mkdir()
    nbformat.write(lesson_notebook(), src / "98_lesson.ipynb")
    make_student_copy(src, tmp_path / "sheets", exercises_only=True)
    sources = [c.source for c in nbformat.read(tmp_path / "sheets" / "98_lesson.ipynb", as_version=4).cells]
    assert "lesson = 'slow training'" not in sources and SETUP in sources
    assert "ax0 < bx1" not in "\n".join(sources) and "raise NotImplementedError" in sources[4]


def test_exercises_only_refuses_a_notebook_without_the_sections(course, tmp_path):
    with pytest.raises(ValueError, match=r"99_synthetic.ipynb: no markdown cell opens with '## Set-up' and "
                                         r"'## Exercises'.*without --exercises-only"):
        make_student_copy(course, tmp_path / "sheets", exercises_only=True)
    assert not (tmp_path / "sheets").exists()
    nb = lesson_notebook()
    nb.cells = nb.cells[:6]
    with pytest.raises(ValueError, match=r"no markdown cell opens with '## Exercises'"):
        exercise_sheet(nb, "98_lesson.ipynb")


def _has_python3_kernel() -> bool:
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        return "python3" in KernelSpecManager().find_kernel_specs()
    except Exception:
        return False


@pytest.mark.skipif(not _has_python3_kernel(), reason="needs the python3 Jupyter kernel")
def test_student_copy_runs_top_to_bottom(course, tmp_path):
    """Fast: one kernel, the synthetic notebook only (a few seconds)."""
    from nbclient import NotebookClient

    make_student_copy(course, tmp_path / "student")
    nb = nbformat.read(tmp_path / "student" / "99_synthetic.ipynb", as_version=4)
    NotebookClient(nb, timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # raises on any cell error
    outputs = [json.dumps(c.get("outputs", [])) for c in nb.cells]
    assert all('"output_type": "error"' not in o for o in outputs)
    assert "Not attempted" in outputs[4] and "Not attempted" in outputs[5]
    assert "____" in outputs[3]  # print(answer) shows the placeholder
