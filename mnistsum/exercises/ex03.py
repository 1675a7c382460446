"""Exercises of notebook 03 (the metric). Set-up: ``from mnistsum.exercises import ____, ex03``.

- q1: compute the number ``answer``, then ``ex03.q1.check(answer)``.
- q2: define ``mae_within_1(y_true, y_pred)``, then ``ex03.q2.check(mae_within_1)``.
- q3 (open): ``ex03.q3.hint()``, ``ex03.q3.solution()``.
"""

from __future__ import annotations

import math

import numpy as np

from mnistsum.exercises.core import (
    Incorrect, OpenQuestion, Question, advice_for, call, expect_callable, expect_number, sentence
)

__all__ = ["q1", "q2", "q3"]

#: ``SHAPE_ADVICE`` is appended when a function works on (N,) inputs but not on (N, 1) ones.
SHAPE_ADVICE = ("It works on (N,) arrays but not on (N, 1) ones, the shape model.predict returns: an (N, 1) "
                "array minus an (N,) one broadcasts into an (N, N) matrix. Flatten both first with .reshape(-1).")


# ----------------------------------------------------------------------------- references

def shifted_accuracy() -> float:
    """Sum accuracy of predicting truth + 0.5 for every truth 0..45, rounding half to even.

    >>> shifted_accuracy()
    0.5
    """
    from mnistsum.metrics import sum_accuracy

    y_true = np.arange(46)
    return sum_accuracy(y_true, y_true + 0.5)  # rint(t + 0.5) == t exactly when t is even: 23 of 46


def mae_within_1(y_true, y_pred) -> float:
    """Share of images whose rounded (half to even) prediction is at most 1 away from the truth.

    >>> mae_within_1([10, 10, 10], [[11.4], [11.5], [9.5]])  # 11, 12 and 10 after rounding
    0.6666666666666666
    """
    y_true = np.asarray(y_true, dtype=float).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=float).reshape(-1)
    return float(np.mean(np.abs(np.rint(y_pred) - y_true) <= 1))


# ----------------------------------------------------------------------------- checkers

def _check_shifted(answer) -> str:
    if callable(answer):
        raise Incorrect("this question wants a number, e.g. answer = sum_accuracy(y_true, y_true + 0.5).")
    value = expect_number(answer, "your answer")
    if math.isclose(value, 0.5, abs_tol=1e-6):
        return ("0.5: np.rint(t + 0.5) rounds half to even, so an even truth t rounds down to t (a hit) and an "
                "odd one up to t + 1 (a miss); 23 of the 46 sums 0..45 are even. On real canvases the score "
                "is the share of even sums, about one half.")
    advice = {
        1.0: "that is what rounding half *up* would give, but numpy and Keras round half to even: "
             "np.rint(22.5) is 22 and np.rint(23.5) is 24.",
        0.0: "np.rint rounds half to even, so some of the predictions t + 0.5 round back down to t.",
        50.0: "give the share as a number between 0 and 1, not a percentage.",
        23.0: "that is a count; the sum accuracy is a share: divide by the number of images.",
    }
    why = sentence(next((text for key, text in advice.items() if math.isclose(value, key)), ""))
    raise Incorrect(f"{value:g} is not the sum accuracy of predicting y_true + 0.5 for y_true = np.arange(46). "
                    + (why or "Compute np.rint(y_true + 0.5) and compare it with y_true."))


def _halves_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer truths and predictions that are often exact halves (n.5), where rounding matters."""
    y_true = rng.integers(0, 46, n)
    offsets = np.where(rng.random(n) < 0.6, rng.integers(-5, 6, n) / 2, rng.normal(0, 1.5, n))
    return y_true, y_true + offsets


def _check_within_1(answer) -> str:
    fn = expect_callable(answer, "mae_within_1")
    rng = np.random.default_rng()
    for n in (64, 301):
        y_true, y_pred = _halves_data(rng, n)
        expected = mae_within_1(y_true, y_pred)
        got = expect_number(call(fn, y_true.copy(), y_pred.copy(), name="mae_within_1"), "mae_within_1(...)")
        if not math.isclose(got, expected, abs_tol=1e-9):
            error = np.abs(np.floor(y_pred + 0.5) - y_true)
            advice = {
                "round the predictions first (np.rint), then compare with the truth.":
                    np.mean(np.abs(y_pred - y_true) <= 1),
                "round half to even with np.rint (22.5 -> 22, 23.5 -> 24), not half up.": np.mean(error <= 1),
                "'within 1' includes an error of exactly 1 (<= 1, not < 1).":
                    np.mean(np.abs(np.rint(y_pred) - y_true) < 1),
                "return a share (np.mean of the booleans), not a count.": expected * n,
            }
            why = advice_for(got, advice)
            raise Incorrect(f"on {n} random predictions (many of them exact halves such as 21.5) your function "
                            f"returned {got:.4f}; expected {expected:.4f}. {why}".rstrip())
        for true_shape, pred_shape in (((n, 1), (n,)), ((n,), (n, 1)), ((n, 1), (n, 1))):
            try:
                got = expect_number(call(fn, y_true.reshape(true_shape), y_pred.reshape(pred_shape),
                                         name="mae_within_1"), "mae_within_1(...)")
                ok = math.isclose(got, expected, abs_tol=1e-9)
            except Incorrect as error:
                raise Incorrect(f"with y_true shaped {true_shape} and y_pred shaped {pred_shape}: {error} "
                                f"{SHAPE_ADVICE}") from None
            if not ok:
                raise Incorrect(f"with y_true shaped {true_shape} and y_pred shaped {pred_shape} your function "
                                f"returned {got:.4f}; expected {expected:.4f}. {SHAPE_ADVICE}")
    return ("mae_within_1 agrees with the reference on fresh predictions full of exact halves, for (N,) and "
            "(N, 1) shapes. It is always at least the sum accuracy: it also forgives the near misses.")


# ----------------------------------------------------------------------------- questions

q1 = Question(
    "ex03.q1", _check_shifted,
    hint="Make y_true = np.arange(46) and y_pred = y_true + 0.5, then compute sum_accuracy(y_true, y_pred) or "
         "np.mean(np.rint(y_pred) == y_true). Look at np.rint(y_pred)[:6] to see why.",
    solution=shifted_accuracy,
)

q2 = Question(
    "mae_within_1", _check_within_1,
    hint="Flatten both arrays with .reshape(-1), round the predictions with np.rint (half to even), take the "
         "absolute difference with the truth, and average the booleans (difference <= 1).",
    solution=mae_within_1,
)

q3 = OpenQuestion(
    "ex03.q3 (a biased model)",
    hint="Write the prediction 0.9 * truth + 2.25 as truth - 0.1 * (truth - 22.5): which truths does it get "
         "right after rounding? Then compute its sum accuracy and MAE on the benchmark sums and compare with "
         "an unbiased model of the same MAE (gaussian_sum_accuracy).",
    solution="""\
predictions = 0.9 * benchmark_sums + 2.25
print(sum_accuracy(benchmark_sums, predictions), sum_mae(benchmark_sums, predictions))
truths = np.arange(46)
print(truths[np.rint(0.9 * truths + 2.25) == truths])      # the sums it gets right: 18..27

Discussion (what a good answer says):
- The error is 2.25 - 0.1 * truth = -0.1 * (truth - 22.5): zero at the mean sum 22.5 and growing by 0.1 per
  unit away from it. Rounding forgives errors below 0.5, so every sum from 18 to 27 is a hit and every sum
  outside is a miss, however good the model looks on average.
- Sums 18..27 hold about 55% of the 5-digit canvases (the sum distribution is a bell around 22.5), so
  the sum accuracy is about 0.55 - far above the constant guess (about 0.06) - and the MAE small
  (0.1 * E|sum - 22.5|, about 0.52), for a model that is *systematically* wrong on every rarer sum: an
  average metric hides where the errors are.
- This is regression to the mean: a slope below 1 (here 0.9) pulls every prediction towards 22.5. MSE-trained
  models do it when they are unsure; notebook 05 measures the baseline's slope with
  mnistsum.analysis.mean_prediction_by_sum. A good answer suggests reporting accuracy per sum (or per
  digit count) alongside the overall score.""",
)
