"""Checked exercises for the notebooks, learntools-style.

In a notebook's exercise set-up cell::

    from mnistsum.exercises import ____, ex02

then ``ex02.q1.check(overlaps)``, ``ex02.q1.hint()``, ``ex02.q1.solution()``.
``____`` marks an answer not attempted yet; checks return True, False, or None
(not attempted), print a message that teaches, and never raise on a wrong answer.
The ``q3`` of each module is open-ended and graded by the instructor.
"""

from mnistsum.exercises import ex01, ex02, ex03, ex04, ex05, ex06, ex07, ex08, ex09, ex10
from mnistsum.exercises.core import OpenQuestion, Question, ____

__all__ = ["____", "Question", "OpenQuestion", "ex01", "ex02", "ex03", "ex04", "ex05", "ex06", "ex07", "ex08", "ex09", "ex10"]
