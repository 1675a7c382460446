r"""The student copy of the course: the notebooks with their solutions taken out.

Instructor notebooks mark solutions in code cells with nbgrader's markers::

    def overlaps(box_a, box_b):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

A region inside a function body becomes ``raise NotImplementedError``; any
other region becomes ``name = ____`` for each name it assigns at its own level
(a function it defines keeps only its signature, over ``raise NotImplementedError``),
or a bare ``____``. The checkers of
:mod:`mnistsum.exercises` read both as "not attempted yet".

>>> print(student_source("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"))
def f(x):
    # YOUR CODE HERE
    raise NotImplementedError
>>> print(student_source("### BEGIN SOLUTION\nanswer = 0.5\n### END SOLUTION\nq1.check(answer)"))
# YOUR CODE HERE
answer = ____
q1.check(answer)
"""

from __future__ import annotations

import ast
import re
import shutil
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # nbformat comes with Jupyter; the rest of the command line runs without it
    import nbformat

BEGIN = re.compile(r"^\s*###\s*BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*###\s*END SOLUTION\s*$")
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
EXTRA_FILES = ("nbval_sanitize.cfg",)
_DEF = re.compile(r"(async\s+)?def\s")
_CHECK_CALL = re.compile(r"\.check\(")
_PLACEHOLDER = re.compile(r"(?<!\w)____(?!\w)")
_IMPORTS_PLACEHOLDER = re.compile(r"from\s+mnistsum\.exercises\s+import\s+(\([^)]*\)|[^\n]*)")
PLACEHOLDER_IMPORT = "from mnistsum.exercises import ____"
SETUP_HEADING = "## Set-up"
EXERCISES_HEADING = "## Exercises"


def _width(line: str) -> int:
    expanded = line.expandtabs()
    return len(expanded) - len(expanded.lstrip())


def _in_function(before: list[str], indent: int) -> bool:
    """Whether a line at ``indent`` after the lines ``before`` sits in a function body.

    Walks up the enclosing blocks (each less indented line opens one), skipping
    lines that close a bracket, as a multi-line signature's ``) -> int:`` does.
    """
    for line in reversed(before):
        text = line.strip()
        if not text or text.startswith("#") or text[0] in ")]}":
            continue
        if _width(line) < indent:
            if _DEF.match(text):
                return True
            indent = _width(line)
            if indent == 0:
                return False
    return False


def _stub_statements(region: list[str]) -> list[str] | None:
    """Placeholder lines (unindented) for the names a region assigns, or None if it does not parse."""
    code = textwrap.dedent("\n".join(region))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    lines, code_lines, seen = [], code.split("\n"), set()

    def add(line: str) -> None:
        if line not in seen:
            seen.add(line)
            lines.append(line)

    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            if isinstance(target, ast.Name):
                add(f"{target.id} = ____")
            elif isinstance(target, (ast.Tuple, ast.List)) and all(isinstance(e, ast.Name) for e in target.elts):
                add(f"{', '.join(e.id for e in target.elts)} = {', '.join(['____'] * len(target.elts))}")
        if isinstance(node, ast.ClassDef):
            add(f"{node.name} = ____")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body[0]
            if body.lineno == node.lineno:  # a one-line def: nothing to keep
                add(f"{node.name} = ____")
                continue
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            header = code_lines[first - 1: body.lineno - 1]  # decorators and signature, no docstring
            lines.extend(header + [" " * body.col_offset + "raise NotImplementedError"])
    return lines


def _stub_by_regex(region: list[str], indent: int) -> list[str]:
    """Fallback for regions that do not parse (magics): ``name = ...`` lines at the region's level."""
    names = []
    for line in region:
        match = re.match(r"([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*(?::[^=]+)?=(?!=)", line.strip())
        if match and _width(line) == indent:
            targets = [t.strip() for t in match.group(1).split(",")]
            text = f"{', '.join(targets)} = {', '.join(['____'] * len(targets))}"
            if text not in names:
                names.append(text)
    return names


def _replacement(region: list[str], indent: str, in_function: bool) -> list[str]:
    if in_function:
        body = ["raise NotImplementedError"]
    else:
        body = _stub_statements(region)
        body = (body if body is not None else _stub_by_regex(region, _width(indent))) or ["____"]
    return [indent + "# YOUR CODE HERE"] + [indent + line if line else line for line in body]


def student_source(source: str, where: str = "this cell") -> str:
    """``source`` with every solution region replaced; ``where`` names the cell in error messages."""
    lines = source.split("\n")
    out: list[str] = []
    region: list[str] | None = None
    opened = 0
    for number, line in enumerate(lines, 1):
        if BEGIN.match(line):
            if region is not None:
                raise ValueError(f"{where}, line {number}: ### BEGIN SOLUTION inside the solution region opened "
                                 f"at line {opened}; close that one with ### END SOLUTION first.")
            region, opened = [], number
        elif END.match(line):
            if region is None:
                raise ValueError(f"{where}, line {number}: ### END SOLUTION without a ### BEGIN SOLUTION before it.")
            marker = lines[opened - 1]
            indent = marker[: len(marker) - len(marker.lstrip())]
            out.extend(_replacement(region, indent, _in_function(lines[: opened - 1], _width(marker))))
            region = None
        elif region is not None:
            region.append(line)
        else:
            out.append(line)
    if region is not None:
        raise ValueError(f"{where}, line {opened}: ### BEGIN SOLUTION is never closed with ### END SOLUTION.")
    return "\n".join(out)


def has_solution(source: str) -> bool:
    return any(BEGIN.match(line) or END.match(line) for line in source.split("\n"))


def _imports_placeholder(source: str) -> bool:
    return any(_PLACEHOLDER.search(m.group(1)) for m in _IMPORTS_PLACEHOLDER.finditer(source))


def student_notebook(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` with solutions replaced and the outputs of solution and checker cells removed.

    Checker outputs go too: they show the instructor's "Correct!". If a
    placeholder ``____`` is used before any cell imports it, the import is
    added to the first cell that needs it.
    """
    import nbformat

    nb = nbformat.from_dict(nb)  # a deep copy
    imported = False
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        had_solution = has_solution(cell.source)
        if had_solution:
            cell.source = student_source(cell.source, f"{name}, cell {index}")
        imported = imported or _imports_placeholder(cell.source)
        if had_solution and not imported and _PLACEHOLDER.search(cell.source):
            cell.source = f"{PLACEHOLDER_IMPORT}\n{cell.source}"
            imported = True
        if had_solution or _CHECK_CALL.search(cell.source):
            cell.outputs, cell.execution_count = [], None
    return nb


def _heading(cell) -> str | None:
    """The ``## `` heading a markdown cell opens with, else None."""
    if cell.cell_type != "markdown" or not cell.source.startswith("## "):
        return None
    return cell.source.split("\n", 1)[0].rstrip()


def exercise_sheet(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The exercises of ``nb`` alone: its title cell, its ``## Set-up`` section and its ``## Exercises`` section.

    A hand-out that runs in seconds, since it skips the lesson's training. The
    course keeps every exercise section self-contained: it uses only names that
    it or the set-up defines (``tests/test_student_copy_course.py`` checks it).
    """
    import nbformat

    headings = [(index, text) for index, cell in enumerate(nb.cells) if (text := _heading(cell))]
    setup = [index for index, text in headings if text == SETUP_HEADING]
    exercises = [index for index, text in headings if text == EXERCISES_HEADING]
    if not setup or not exercises:
        missing = " and ".join(repr(h) for h, found in ((SETUP_HEADING, setup), (EXERCISES_HEADING, exercises))
                               if not found)
        raise ValueError(f"{name}: no markdown cell opens with {missing}, so there is no exercise sheet to cut; "
                         "give the notebook those sections, or copy it whole (without --exercises-only).")
    setup_end = next((index for index, _ in headings if index > setup[0]), len(nb.cells))
    sheet = nbformat.from_dict(nb)  # a deep copy
    sheet.cells = sheet.cells[: setup_end] + sheet.cells[exercises[0]:]
    return sheet


def make_student_copy(src_dir: Path, out_dir: Path, exercises_only: bool = False) -> list[Path]:
    """Write the student copy of every ``NN_*.ipynb`` in ``src_dir`` (and its nbval config) to ``out_dir``.

    With ``exercises_only``, each notebook is cut to its :func:`exercise_sheet`.
    """
    import nbformat

    src_dir, out_dir = Path(src_dir), Path(out_dir)
    notebooks = sorted(src_dir.glob(NOTEBOOK_GLOB))
    if not notebooks:
        raise ValueError(f"{src_dir}: no notebooks named NN_*.ipynb to copy.")
    if out_dir.resolve() == src_dir.resolve():
        raise ValueError(f"--out {out_dir} is the instructor's notebook folder: "
                         "the copy would overwrite the solutions.")
    students = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        if exercises_only:
            nb = exercise_sheet(nb, path.name)
        students.append((path.name, student_notebook(nb, path.name)))
    out_dir.mkdir(parents=True, exist_ok=True)  # only once every notebook converted without error
    written = []
    for file_name, nb in students:
        nbformat.write(nb, out_dir / file_name)
        written.append(out_dir / file_name)
    for extra in EXTRA_FILES:
        if (src_dir / extra).is_file():
            written.append(Path(shutil.copyfile(src_dir / extra, out_dir / extra)))
    return written


def add_parser(subparsers) -> None:
    """Register ``python -m mnistsum student-copy --out DIR [--src DIR] [--exercises-only]``."""
    p = subparsers.add_parser("student-copy", help="write the notebooks without their solutions (for learners)")
    p.add_argument("--out", type=Path, required=True, help="folder for the student notebooks")
    p.add_argument("--src", type=Path, default=None, help="instructor notebooks (default: the repository's notebooks/)")
    p.add_argument("--exercises-only", action="store_true",
                   help="keep only each notebook's set-up and exercises: a hand-out that runs in seconds")
    p.set_defaults(func=cmd_student_copy)


def cmd_student_copy(args) -> None:
    from mnistsum.paths import repo_root

    src = args.src
    if src is None:
        root = repo_root()
        if root is None:
            raise ValueError("no repository checkout found: pass the instructor notebooks with --src DIR.")
        src = root / "notebooks"
    for path in make_student_copy(src, args.out, args.exercises_only):
        print(path)
