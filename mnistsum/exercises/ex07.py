"""Exercises of notebook 07 (sequence read-out). Set-up: ``from mnistsum.exercises import ____, ex07``.

- q1: define ``pad_targets(digits)``, then ``ex07.q1.check(pad_targets)``.
- q2: define ``reading_order(boxes, digits)``, then ``ex07.q2.check(reading_order)``.
- q3 (open): ``ex07.q3.hint()``, ``ex07.q3.solution()``.
"""

from __future__ import annotations

import numpy as np

from mnistsum.exercises.core import Incorrect, OpenQuestion, Question, call, expect_array, expect_callable

__all__ = ["q1", "q2", "q3"]

BLANK, HEADS = 10, 5


# ----------------------------------------------------------------------------- references

def pad_targets(digits) -> np.ndarray:
    """A sequence of up to 5 digits as the 5 heads' targets: the digits, then BLANK (10).

    >>> pad_targets([4, 0]).tolist()
    [4, 0, 10, 10, 10]
    """
    out = np.full(HEADS, BLANK, dtype=int)
    out[: len(digits)] = digits
    return out


def reading_order(boxes, digits) -> np.ndarray:
    """One canvas's digits left to right (by ``x0``, then ``y0``), padded with BLANK.

    ``boxes`` ``(5, 4)`` are ``(x0, y0, x1, y1)`` and ``digits`` ``(5,)``; both are -1 where no digit was placed.

    >>> reading_order([[50, 0, 78, 28], [3, 90, 31, 118], [-1] * 4, [-1] * 4, [-1] * 4], [7, 2, -1, -1, -1]).tolist()
    [2, 7, 10, 10, 10]
    """
    boxes, digits = np.asarray(boxes), np.asarray(digits)
    placed = [(boxes[k, 0], boxes[k, 1], digits[k]) for k in range(len(digits)) if digits[k] >= 0]
    return pad_targets([d for _, _, d in sorted(placed)])


# ----------------------------------------------------------------------------- checkers

def _check_pad(answer) -> str:
    fn = expect_callable(answer, "pad_targets")
    rng = np.random.default_rng()
    cases = [[], [0], [0, 0, 0, 0, 0]] + [rng.integers(0, 10, rng.integers(1, 6)).tolist() for _ in range(6)]
    for digits in cases:
        got = expect_array(call(fn, list(digits), name="pad_targets"), (HEADS,), f"pad_targets({digits})")
        expected = pad_targets(digits)
        if not np.array_equal(got, expected):
            advice = (" 0 is a digit (a head that outputs 0 read a zero); pad with BLANK = 10."
                      if np.array_equal(got, np.where(expected == BLANK, 0, expected)) else "")
            raise Incorrect(f"pad_targets({digits}) returned {got.astype(int).tolist()}; expected "
                            f"{expected.tolist()}.{advice}")
    return "pad_targets gives the five heads their targets: digits first, then the blank class 10."


def _canvas(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = int(rng.integers(0, HEADS + 1))
    boxes = np.full((HEADS, 4), -1)
    digits = np.full(HEADS, -1)
    x0 = rng.choice(np.arange(0, 101), n, replace=False)
    if n >= 2:
        x0[1] = x0[0]  # two digits in one column: y0 decides
    y0 = rng.choice(np.arange(0, 101), n, replace=False)
    boxes[:n] = np.stack([x0, y0, x0 + 28, y0 + 28], 1)
    digits[:n] = rng.integers(0, 10, n)
    return boxes, digits


def _check_reading_order(answer) -> str:
    fn = expect_callable(answer, "reading_order")
    rng = np.random.default_rng()
    # first a canvas whose top-to-bottom order differs from its left-to-right order
    made = (np.array([[60, 0, 88, 28], [0, 70, 28, 98], [30, 40, 58, 68]] + [[-1] * 4] * 2),
            np.array(rng.permutation(10)[:3].tolist() + [-1, -1]))
    for boxes, digits in [made] + [_canvas(rng) for _ in range(12)]:
        got = expect_array(call(fn, boxes.copy(), digits.copy(), name="reading_order"), (HEADS,),
                           "reading_order(boxes, digits)")
        expected = reading_order(boxes, digits)
        if np.array_equal(got, expected):
            continue
        placed = digits >= 0
        by_y = pad_targets(digits[placed][np.argsort(boxes[placed, 1], kind="stable")])
        advice = ("you sorted by y0 (top to bottom); read left to right: by x0 first." if np.array_equal(got, by_y)
                  else "digits of -1 are empty slots, not digits." if (got == -1).any()
                  else "when two digits share x0, the upper one (smaller y0) comes first." if
                  sorted(got.tolist()) == sorted(expected.tolist()) else "")
        raise Incorrect(f"for boxes {boxes[placed].tolist()} and digits {digits[placed].tolist()} you returned "
                        f"{got.astype(int).tolist()}; expected {expected.tolist()}. {advice}".rstrip())
    return "reading_order matches mnistsum.sequence.reading_order_targets for one canvas."


# ----------------------------------------------------------------------------- questions

q1 = Question(
    "pad_targets", _check_pad,
    hint="Start from np.full(5, 10) and copy the digits into the first len(digits) places.",
    solution=pad_targets,
)

q2 = Question(
    "reading_order", _check_reading_order,
    hint="Keep the slots whose digit is >= 0, sort them by (x0, y0) — Python sorts tuples that way — and pad.",
    solution=[pad_targets, reading_order],
)

q3 = OpenQuestion(
    "ex07.q3 (why read digits rather than regress the sum?)",
    hint="If each head is right with probability p, independently, what is the chance that all five are? Compare "
         "with the baseline, whose error is Gaussian-like with a standard deviation of about 2.8 "
         "(mnistsum.metrics.gaussian_sum_accuracy). Then look at what the sequence model gets wrong on canvases.",
    solution="""\
from mnistsum.metrics import gaussian_sum_accuracy
for p in (0.9, 0.95, 0.99, 0.998):
    print(p, p ** 5)                 # all five heads right -> the sum is right (plus lucky cancellations)
print(gaussian_sum_accuracy(2.8))    # a regressor with an error of sd 2.8: about 14%

Discussion (what a good answer says):
- Sum accuracy is all-or-nothing: a regressor must land within 0.5 of the truth, so its error's standard
  deviation must be well under 0.5; a network that regresses from pixels has no pressure to be *exactly*
  right, only close.
- Per-digit heads turn the sum into five classification problems, each with a clear right answer and a
  cross-entropy loss that keeps pushing until it is right. With per-head accuracy p the sum is right with
  probability at least about p^5: 0.99^5 = 95%.
- The sum uses richer labels: 5 digits instead of one number. That extra supervision is what makes the
  problem easy; notebook 08 shows what it costs to learn from the sum alone.
- On the canvas, the heads must also learn the *order*, which is a harder, global task: errors are often
  swapped or skipped digits (a right multiset in the wrong order still gives the right sum!).""",
)
