"""Exercises of notebook 05 (error analysis). Set-up: ``from mnistsum.exercises import ____, ex05``.

- q1: define ``most_missed_sum(sums, predictions)``, then ``ex05.q1.check(most_missed_sum)``.
- q2: define ``off_by_one_share(sums, predictions)``, then ``ex05.q2.check(off_by_one_share)``.
- q3 (open): ``ex05.q3.hint()``, ``ex05.q3.solution()``.

Predictions may be shaped (N,) or (N, 1), as ``model.predict`` returns them.
"""

from __future__ import annotations

import math

import numpy as np

from mnistsum.exercises.core import (
    Incorrect, OpenQuestion, Question, advice_for, call, expect_callable, expect_number
)
from mnistsum.exercises.ex03 import SHAPE_ADVICE

__all__ = ["q1", "q2", "q3"]


# ----------------------------------------------------------------------------- references

def most_missed_sum(sums, predictions) -> int:
    """The true sum with the most misses (rounded prediction != truth); ties go to the smallest sum.

    Needs at least one miss.

    >>> most_missed_sum([3, 3, 7, 7, 5], [[4.0], [2.0], [7.6], [6.5], [5.2]])  # 3 and 7 missed twice: 3
    3
    """
    sums = np.asarray(sums).reshape(-1).astype(int)
    missed = np.rint(np.asarray(predictions, dtype=float).reshape(-1)) != sums
    return int(np.bincount(sums[missed]).argmax())  # argmax takes the first, i.e. smallest, of equal counts


def off_by_one_share(sums, predictions) -> float:
    """Among the misses, the share whose rounded prediction is exactly 1 away; 0.0 without misses.

    >>> off_by_one_share([10, 10, 10, 10], [10.2, 11.4, 8.4, 12.5])  # misses: 11, 8, 12
    0.3333333333333333
    """
    sums = np.asarray(sums).reshape(-1)
    error = np.abs(np.rint(np.asarray(predictions, dtype=float).reshape(-1)) - sums)
    misses = error != 0
    return float(np.mean(error[misses] == 1)) if misses.any() else 0.0


# ----------------------------------------------------------------------------- test data

def _benchmark_like(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sums of 5 digits and predictions of a noisy, mean-regressing model (some exact halves)."""
    sums = rng.integers(0, 10, (n, 5)).sum(axis=1)
    slope = rng.uniform(0.7, 1.0)
    predictions = slope * sums + (1 - slope) * 22.5 + rng.normal(0, rng.uniform(0.4, 1.2), n)
    halves = rng.random(n) < 0.2
    predictions[halves] = np.round(predictions[halves]) + 0.5
    return sums, predictions


def _as_int(got, what: str) -> int:
    if isinstance(got, (float, np.floating)) and float(got).is_integer():
        return int(got)
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
        raise Incorrect(f"{what} returned {got!r} ({type(got).__name__}); return the sum as an int.")
    return int(got)


def _run(fn, name: str, sums: np.ndarray, predictions: np.ndarray, convert):
    """The learner's answer for (N,) predictions, then for (N, 1) ones (which must agree)."""
    flat = convert(call(fn, sums.copy(), predictions.copy(), name=name), f"{name}(sums, predictions)")
    try:
        column = convert(call(fn, sums.copy(), predictions.reshape(-1, 1), name=name), f"{name}(...)")
    except Incorrect as error:
        raise Incorrect(f"with predictions shaped (N, 1): {error} {SHAPE_ADVICE}") from None
    same = column == flat or (isinstance(flat, float) and (math.isclose(column, flat)
                                                           or (math.isnan(column) and math.isnan(flat))))
    if not same:
        raise Incorrect(f"with predictions shaped (N, 1) your function returned {column!r}, but {flat!r} with (N,). "
                        f"{SHAPE_ADVICE}")
    return flat


# ----------------------------------------------------------------------------- checkers

#: (sums, predictions, why): hand-made cases with a lesson each.
_MISSED_CASES = [
    ([3, 3, 7, 7, 5, 5], [4.0, 2.2, 8.0, 6.0, 5.0, 5.1],
     "sums 3 and 7 are both missed twice: ties go to the smallest sum"),
    ([22] * 10 + [40] * 2, [22.0] * 7 + [24.0] * 3 + [35.0, 36.0],
     "sum 22 is missed 3 times (30% of its images) and sum 40 twice (100%): the question asks for the number "
     "of misses, not the miss rate"),
    ([10] * 6 + [20] * 2 + [30] * 2, [10.0] * 6 + [20.2] * 2 + [29.0] * 2,
     "only sum 30 is ever missed, although 10 is the most common sum"),
    ([22, 22, 23, 23, 23], [22.5, 21.5, 23.5, 22.5, 23.4],
     "np.rint rounds half to even: 22.5 -> 22 (a hit for 22) but 23.5 -> 24 and 22.5 -> 22 (misses for 23)"),
]


def _check_most_missed(answer) -> str:
    fn = expect_callable(answer, "most_missed_sum")
    for sums, predictions, why in _MISSED_CASES:
        sums, predictions = np.array(sums), np.array(predictions, dtype=float)
        got = _run(fn, "most_missed_sum", sums, predictions, _as_int)
        if got != most_missed_sum(sums, predictions):
            raise Incorrect(f"most_missed_sum({sums.tolist()}, {predictions.tolist()}) returned {got}; expected "
                            f"{most_missed_sum(sums, predictions)}: {why}.")
    rng = np.random.default_rng()
    for n in (200, 1000):
        sums, predictions = _benchmark_like(rng, n)
        expected = most_missed_sum(sums, predictions)
        got = _run(fn, "most_missed_sum", sums, predictions, _as_int)
        if got != expected:
            missed = np.rint(predictions) != sums
            raise Incorrect(f"on {n} random predictions your function returned {got} (missed "
                            f"{np.sum(missed & (sums == got))} times), but sum {expected} was missed "
                            f"{np.sum(missed & (sums == expected))} times.")
    return ("most_missed_sum agrees with the reference on hand-made cases (ties, counts vs rates, halves) and "
            "fresh random predictions, for (N,) and (N, 1) shapes.")


def _check_off_by_one(answer) -> str:
    fn = expect_callable(answer, "off_by_one_share")
    got = _run(fn, "off_by_one_share", np.array([4, 9, 22]), np.array([4.2, 8.6, 22.5]), expect_number)
    if got != 0.0:
        raise Incorrect(f"with no misses at all your function returned {got!r}; return 0.0 when nothing is "
                        "missed (the share of an empty set is undefined, so the question fixes it to 0.0).")
    rng = np.random.default_rng()
    for n in (150, 800):
        sums, predictions = _benchmark_like(rng, n)
        expected = off_by_one_share(sums, predictions)
        got = _run(fn, "off_by_one_share", sums, predictions, expect_number)
        if math.isclose(got, expected, abs_tol=1e-9):
            continue
        error = np.abs(np.rint(predictions) - sums)
        advice = {
            "divide by the number of misses, not by the number of images.": np.mean(error == 1),
            "return a share (a mean over the misses), not a count.": float(np.sum(error == 1)),
            "a miss one away means a *rounded* prediction exactly 1 from the truth: round with np.rint first.":
                np.mean(np.abs(predictions - sums)[error != 0] <= 1.5),
        }
        why = advice_for(got, advice)
        raise Incorrect(f"on {n} random predictions with {np.sum(error != 0)} misses your function returned "
                        f"{got:.4f}; expected {expected:.4f}. {why}".rstrip())
    return ("off_by_one_share agrees with the reference, returns 0.0 without misses and accepts (N, 1) "
            "predictions. A high share means the model is nearly right: its misses are near misses.")


# ----------------------------------------------------------------------------- questions

q1 = Question(
    "most_missed_sum", _check_most_missed,
    hint="Flatten the predictions, compute missed = np.rint(predictions) != sums, then count the misses of each "
         "sum with np.bincount(sums[missed]); np.argmax returns the first (smallest) of equal counts.",
    solution=most_missed_sum,
)

q2 = Question(
    "off_by_one_share", _check_off_by_one,
    hint="error = np.abs(np.rint(predictions.reshape(-1)) - sums); the misses are error != 0; among them take the "
         "mean of error == 1. Guard the case with no misses first.",
    solution=off_by_one_share,
)

q3 = OpenQuestion(
    "ex05.q3 (why that sum?)",
    hint="Compare the most-missed sum with the distribution of sums (np.bincount(sums)) and with the baseline's "
         "mean prediction for each sum (mnistsum.analysis.mean_prediction_by_sum): where do the predictions sit "
         "relative to the diagonal, and what does an MSE-trained model gain by pulling towards 22.5?",
    solution="""\
keys, mean_pred, slope = mean_prediction_by_sum(evaluation.sums, evaluation.predictions)
print("slope of prediction on truth:", round(slope, 3))           # below 1
values, accuracy, counts = accuracy_by(evaluation.sums, evaluation.residuals == 0)
# plot accuracy and counts against the sum, and mean_pred against keys with the diagonal

Discussion (what a good answer says):
- The number of misses of a sum is (its frequency) x (its miss rate). The extremes (0-5, 40-45) have the
  highest miss *rates* but very few images; the middle sums have many images and the lowest rates. The
  most-missed sum sits where both are sizeable, typically on a shoulder of the bell, away from 22.5: a
  good answer checks this against np.bincount(sums) and the accuracy by sum, on the real numbers.
- Regression to the mean: the baseline's slope of prediction on truth is below 1. Trained with MSE on a
  bell-shaped target, a model that is unsure of a digit hedges towards the average, 22.5. Extreme sums are
  rare in training, so being wrong on them costs little loss, while shrinking every prediction towards the
  middle reduces the error on the common ones. High sums are under-predicted, low sums over-predicted.
- The errors are mostly near misses (q2): the model is roughly right but not exact, consistent with
  blurred evidence (a digit hidden by clutter, a 4 read as a 9) rather than a broken model.
- Good answers propose and, ideally, test remedies: predict the digits (classification per digit) and add
  them, reweight rare sums, train longer or with a larger model, or correct the slope after training on the
  validation set (never the test set).""",
)
