"""Exercises of notebook 09 (the detector). Set-up: ``from mnistsum.exercises import ____, ex09``.

- q1: define ``iou(box_a, box_b)``, then ``ex09.q1.check(iou)``.
- q2: define ``peaks(score, radius, threshold)``, then ``ex09.q2.check(peaks)``.
- q3 (open): ``ex09.q3.hint()``, ``ex09.q3.solution()``.
"""

from __future__ import annotations

import math

import numpy as np

from mnistsum.exercises.core import (
    Incorrect, OpenQuestion, Question, call, expect_array, expect_callable, expect_number
)

__all__ = ["q1", "q2", "q3"]


# ----------------------------------------------------------------------------- references

def iou(box_a, box_b) -> float:
    """Intersection over union of boxes ``(x0, y0, x1, y1)`` with exclusive ``x1, y1``.

    >>> iou((0, 0, 28, 28), (14, 0, 42, 28))
    0.3333333333333333
    """
    ax0, ay0, ax1, ay1 = box_a
    bx0, by0, bx1, by1 = box_b
    inter = max(0, min(ax1, bx1) - max(ax0, bx0)) * max(0, min(ay1, by1) - max(ay0, by0))
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return inter / union


def peaks(score, radius: int, threshold: float) -> np.ndarray:
    """Boolean mask of the cells of a 2-D ``score`` map that are the largest within ``radius`` cells
    each way (a (2r+1)×(2r+1) square, clipped at the border) and above ``threshold``.

    >>> peaks(np.array([[0.1, 0.9, 0.8], [0.2, 0.3, 0.95]]), radius=1, threshold=0.5).astype(int).tolist()
    [[0, 0, 0], [0, 0, 1]]
    """
    score = np.asarray(score, float)
    padded = np.pad(score, radius, constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (2 * radius + 1, 2 * radius + 1))
    return (score >= windows.max(axis=(-1, -2))) & (score > threshold)


# ----------------------------------------------------------------------------- checkers

def _box(rng: np.random.Generator) -> tuple[int, int, int, int]:
    x0, y0 = (int(v) for v in rng.integers(0, 60, 2))
    return x0, y0, x0 + int(rng.integers(5, 40)), y0 + int(rng.integers(5, 40))


def _check_iou(answer) -> str:
    fn = expect_callable(answer, "iou")
    rng = np.random.default_rng()
    cases = [((0, 0, 28, 28), (0, 0, 28, 28)), ((0, 0, 28, 28), (28, 0, 56, 28)),
             ((0, 0, 28, 28), (14, 14, 42, 42))] + [(_box(rng), _box(rng)) for _ in range(10)]
    for a, b in cases:
        got = expect_number(call(fn, a, b, name="iou"), f"iou({a}, {b})")
        expected = iou(a, b)
        if math.isclose(got, expected, abs_tol=1e-9):
            continue
        inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
        area_a, area_b = (a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])
        advice = ""
        if a == (0, 0, 28, 28) and b == (28, 0, 56, 28):
            advice = " Boxes that only touch share no pixel: x1 is exclusive."
        elif any(math.isclose(got, inter / d, abs_tol=1e-9) for d in (area_a, area_b, area_a + area_b)):
            advice = " Divide by the area of the union: area_a + area_b - intersection."
        raise Incorrect(f"iou({a}, {b}) returned {got:.4f}; expected {expected:.4f}.{advice}")
    return "iou is right; a detection usually counts as a hit when its IoU with a true box exceeds 0.5."


def _check_peaks(answer) -> str:
    fn = expect_callable(answer, "peaks")
    rng = np.random.default_rng()
    # a hand-made map first: a peak below the threshold, two peaks 2 cells apart, one on the border
    made = rng.uniform(0, 0.2, (9, 12))
    made[2, 2], made[5, 5], made[5, 7], made[0, 11] = 0.3, 0.9, 0.8, 0.7
    maps = [(made, 2, 0.5)] + [(rng.random((int(rng.integers(8, 15)), int(rng.integers(8, 15)))), r, t)
                               for r, t in [(1, 0.5), (3, 0.5), (2, 0.9)]]
    for score, radius, threshold in maps:
        got = call(fn, score.copy(), radius, threshold, name="peaks")
        got = expect_array(got, score.shape, f"peaks(score {score.shape}, radius={radius}, threshold={threshold:.2f})")
        expected = peaks(score, radius, threshold)
        if np.array_equal(got.astype(bool), expected):
            continue
        advice = ("cells at or below the threshold are never peaks." if (got.astype(bool) & (score <= threshold)).any()
                  else "the neighbourhood is radius cells *each way*: a (2r+1) x (2r+1) square."
                  if np.array_equal(got.astype(bool), peaks(score, radius + 1, threshold))
                  or np.array_equal(got.astype(bool), peaks(score, max(radius - 1, 0), threshold))
                  else "near the border, compare only with the cells that exist.")
        y, x = np.argwhere(got.astype(bool) != expected)[0]
        raise Incorrect(f"with radius={radius}, threshold={threshold:.2f}: cell ({y}, {x}) with score "
                        f"{score[y, x]:.3f} should {'' if expected[y, x] else 'not '}be a peak. {advice}")
    return ("peaks is the non-maximum suppression of mnistsum.detector.decode, on one score map (decode also "
            "breaks exact ties, which random scores never have).")


# ----------------------------------------------------------------------------- questions

q1 = Question(
    "iou", _check_iou,
    hint="The intersection of two boxes is a box from the larger x0 to the smaller x1 (and the same in y); its "
         "width is 0 when they do not overlap: max(0, ...). The union is area_a + area_b - intersection.",
    solution=iou,
)

q2 = Question(
    "peaks", _check_peaks,
    hint="Pad the map with -inf by radius on every side, then compare each cell with the maximum of its "
         "(2r+1) x (2r+1) window (np.lib.stride_tricks.sliding_window_view, or two loops).",
    solution=peaks,
)

q3 = OpenQuestion(
    "ex09.q3 (where does the detector fail?)",
    hint="Collect the benchmark canvases the detector gets wrong and sort the errors: a wrong digit, a missed "
         "digit, a clothing patch taken for a digit, one digit counted twice. Show a few of each with "
         "mnistsum.plots.show_detections, and compare the wrong digits with notebook 06's mistakes. "
         "report(...).misread() says which MNIST digits are behind the wrong labels.",
    solution="""\
evaluation = ...  # detections and annotations of the benchmark canvases (section 5)
# match each true box to the detection within 3 pixels; classify every canvas's errors:
#   wrong label (matched, other digit), missed (no detection), extra (a detection with no true box)

Discussion (what a good answer says):
- In the course's run of the shipped weights (10,000 benchmark canvases) nearly every error is a wrong label
  (218), with 4 missed digits and 9 extra detections. Wrong labels are hard digits of the kinds notebook 06's
  classifier confuses too (4/9, 7/2, 3/5): the window classifier is an MNIST classifier, with the same ceiling.
  Trace them to their MNIST digits (report(...).misread()): each test digit appears about five times, and a
  few hard ones, read wrongly every time, make a large share of the wrong labels.
- Extra detections sit on clothing patches with stroke-like edges or on half-seen digits; empty canvases are
  wrong 0.2% of the time. Look for one digit counted twice too: before decode broke ties between neighbouring
  cells (a sure model gives both p(background) = 0), that was most of the "extra" detections.
- Count errors cost the whole sum, and so does every wrong label: at 99.7% per digit, 5 digits give about
  98.5% sum accuracy. Per-digit accuracy is the number to improve.
- Remedies: augment the training digits (the training loss is ten times below the validation loss, so the
  network has learnt its 50,000 training digits better than digits in general), a wider network, an ensemble,
  or a second-stage reader of the detected windows. The shipped best does the last two, with augmentation
  (section 6): its reader's vote brings the wrong labels from 218 to 176, and the misses and extras stay.""",
)
