"""Checked exercises, learntools-style: ``q1.check(answer)``, ``q1.hint()``, ``q1.solution()``.

A checker never raises on a wrong answer (learners keep going): it prints a
message that teaches and returns ``True`` (correct), ``False`` (wrong) or
``None`` (not attempted yet: the answer is the placeholder ``____`` or a
function that still raises ``NotImplementedError``).

>>> q = Question("double", lambda f: expect_equal(call(f, 3), 6, "double(3)"),
...              hint="Multiply by two.", solution="def double(x):\\n    return 2 * x")
>>> q.check(lambda x: 2 * x)
Correct! double is right.
True
>>> q.check(lambda x: x + 2)
Not yet: double(3) returned 5; expected 6.
False
>>> q.check(____) is None
Not attempted yet: replace ____ with your answer.
True
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np


class _Placeholder:
    """The ``____`` a learner replaces with an answer."""

    def __repr__(self) -> str:
        return "____"

    def __call__(self, *args, **kwargs):
        raise NotImplementedError("replace ____ with your answer")


#: The "not attempted yet" placeholder of the student notebooks.
____ = _Placeholder()


class Incorrect(Exception):
    """Raised inside a checker with the message the learner should read."""


class NotAttempted(Exception):
    """Raised inside a checker when the learner's code is still a stub."""


_COLOURS = {"green": "32", "red": "31", "blue": "34", "yellow": "33"}


def _use_colour() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if hasattr(sys.stdout, "isatty") and sys.stdout.isatty():
        return True
    ipython = sys.modules.get("IPython")  # a Jupyter kernel has it imported already
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def say(text: str, colour: str | None = None) -> None:
    """Print ``text``, coloured with ANSI codes in a notebook or terminal (not under ``NO_COLOR``)."""
    if colour and _use_colour():
        text = f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m"
    print(text)


def is_placeholder(answer: Any) -> bool:
    """True for ``____`` (also inside a tuple or list)."""
    if isinstance(answer, _Placeholder):
        return True
    return isinstance(answer, (tuple, list)) and any(isinstance(a, _Placeholder) for a in answer)


def _show(value: Any) -> str:
    text = np.array2string(value, precision=4, threshold=12) if isinstance(value, np.ndarray) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def call(fn: Callable, *args, name: str | None = None):
    """Call the learner's ``fn``; turn its exceptions into messages (``NotImplementedError``: not attempted)."""
    name = name or getattr(fn, "__name__", "your function")
    try:
        return fn(*args)
    except NotImplementedError:
        raise NotAttempted from None
    except Exception as error:  # the learner's bug: explain, do not crash the notebook
        shown = ", ".join(_show(a) if not isinstance(a, np.ndarray) or a.size <= 12
                          else f"<array {a.shape} {a.dtype}>" for a in args)
        raise Incorrect(f"{name}({shown}) raised {type(error).__name__}: {error}") from None


def expect_callable(answer: Any, name: str) -> Callable:
    """The answer must be a function: pass ``f``, not ``f(...)``."""
    if not callable(answer):
        raise Incorrect(f"pass the function itself, e.g. q.check({name}), not a value "
                        f"(you passed {type(answer).__name__} {_show(answer)}). The checker calls "
                        "your function on fresh random inputs, so a hard-coded answer cannot pass.")
    return answer


def expect_equal(got: Any, expected: Any, what: str, advice: str = "") -> None:
    """``got == expected`` exactly (numbers, not bools), else a message naming ``what``."""
    same = np.ndim(got) == 0 and isinstance(got, (bool, np.bool_)) == isinstance(expected, (bool, np.bool_))
    try:
        same = same and bool(got == expected)
    except (TypeError, ValueError):
        same = False
    if not same:
        raise Incorrect(f"{what} returned {_show(got)}; expected {_show(expected)}." + (f" {advice}" if advice else ""))


def expect_number(got: Any, what: str) -> float:
    """A real scalar (python or numpy, not a bool or an array), as a float."""
    if isinstance(got, (bool, np.bool_)) or np.ndim(got) != 0 or not isinstance(got, (int, float, np.number)):
        raise Incorrect(f"{what} should be a single number, but it is {type(got).__name__} {_show(got)}.")
    return float(got)


def expect_array(got: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """An array-like of numbers with ``shape``, as a float array."""
    try:
        array = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise Incorrect(f"{what} should be a numpy array of numbers; it is {type(got).__name__}.") from None
    if array.shape != shape:
        raise Incorrect(f"{what} has shape {array.shape}; expected {shape}.")
    return array


def sentence(text: str) -> str:
    """``text`` with a capital first letter (advice appended after a full stop)."""
    return text[:1].upper() + text[1:]


def advice_for(got: Any, advice: dict[str, Any]) -> str:
    """The advice whose value is what a known mistake returns, if ``got`` equals one (as a sentence), else "".

    >>> advice_for(0.25, {"divide by the misses, not all images.": 0.25, "return a share.": 3.0})
    'Divide by the misses, not all images.'
    """
    for text, value in advice.items():
        try:
            if np.allclose(got, value, rtol=1e-6, atol=1e-9):
                return sentence(text)
        except (TypeError, ValueError):  # shapes that cannot be compared are not this mistake
            continue
    return ""


def source_of(obj: Callable | str) -> str:
    """Solution text: a string as is, a function as its source code."""
    return obj if isinstance(obj, str) else inspect.getsource(obj).rstrip()


class Question:
    """One checked exercise.

    ``checker(answer)`` raises :class:`Incorrect` with a teaching message when
    the answer is wrong, and may return an extra line for the success message.
    ``solution`` is a string or objects whose source is printed, so solution
    text lives in the package, not in the student notebook.
    """

    def __init__(self, name: str, checker: Callable[[Any], str | None], hint: str,
                 solution: str | Callable | list[str | Callable]):
        self.name, self._checker, self._hint = name, checker, hint
        self._solution = solution if isinstance(solution, list) else [solution]

    def check(self, answer: Any = ____) -> bool | None:
        """Print whether ``answer`` is right; return True, False, or None (not attempted)."""
        if is_placeholder(answer):
            say("Not attempted yet: replace ____ with your answer.", "blue")
            return None
        try:
            extra = self._checker(answer)
        except NotAttempted:
            say("Not attempted yet: your function still raises NotImplementedError; "
                "replace that line with your code.", "blue")
            return None
        except Incorrect as wrong:
            say(f"Not yet: {wrong}", "red")
            return False
        say(f"Correct! {extra or f'{self.name} is right.'}", "green")
        return True

    def hint(self) -> None:
        """Print a hint."""
        say(f"Hint: {self._hint}", "yellow")

    def solution(self) -> None:
        """Print the reference solution."""
        say("Solution:", "green")
        print("\n\n".join(source_of(part) for part in self._solution))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: call .check(answer), .hint() or .solution()>"


class OpenQuestion(Question):
    """An open-ended exercise: guidance and a discussion, graded by the instructor."""

    def __init__(self, name: str, hint: str, solution: str):
        super().__init__(name, lambda answer: None, hint, solution)

    def check(self, answer: Any = None) -> None:
        """Open-ended: nothing to check automatically."""
        say(f"{self.name} is open-ended: there is no automatic check, your instructor grades it. "
            "Try .hint() for guidance and .solution() for a discussion once you have an answer.", "blue")
        return None
