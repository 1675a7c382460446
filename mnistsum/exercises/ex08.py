"""Exercises of notebook 08 (ResNet and focal loss). Set-up: ``from mnistsum.exercises import ____, ex08``.

- q1: define ``focal_loss(p_true, alpha, gamma)``, then ``ex08.q1.check(focal_loss)``.
- q2: define ``sum_probabilities(n_digits)``, then ``ex08.q2.check(sum_probabilities)``.
- q3 (open): ``ex08.q3.hint()``, ``ex08.q3.solution()``.
"""

from __future__ import annotations

import numpy as np

from mnistsum.exercises.core import Incorrect, OpenQuestion, Question, advice_for, call, expect_array, expect_callable

__all__ = ["q1", "q2", "q3"]


# ----------------------------------------------------------------------------- references

def focal_loss(p_true, alpha: float, gamma: float) -> np.ndarray:
    """Focal loss of each example, given the probability ``p_true`` the model gives its true class.

    >>> focal_loss(np.array([0.5, 0.9]), alpha=0.25, gamma=2.0).round(5).tolist()
    [0.04332, 0.00026]
    """
    p_true = np.asarray(p_true, float)
    return -alpha * (1.0 - p_true) ** gamma * np.log(p_true)


def sum_probabilities(n_digits: int) -> np.ndarray:
    """P(sum = s), s = 0..45, for ``n_digits`` independent uniform digits (zeros beyond 9·n).

    >>> sum_probabilities(2)[[0, 9, 18]].round(2).tolist()
    [0.01, 0.1, 0.01]
    """
    from mnistsum.analysis import sum_distribution

    p = sum_distribution(np.full(10, 0.1), n_digits)
    out = np.zeros(46)
    out[: len(p)] = p
    return out


# ----------------------------------------------------------------------------- checkers

def _check_focal(answer) -> str:
    fn = expect_callable(answer, "focal_loss")
    rng = np.random.default_rng()
    for alpha, gamma in [(1.0, 0.0), (0.25, 2.0), (float(rng.uniform(0.1, 1)), float(rng.uniform(0.5, 4)))]:
        p = rng.uniform(0.01, 0.99, 20)
        got = expect_array(call(fn, p.copy(), alpha, gamma, name="focal_loss"), (20,),
                           f"focal_loss(p_true, alpha={alpha:.2f}, gamma={gamma:.2f})")
        expected = focal_loss(p, alpha, gamma)
        if np.allclose(got, expected, rtol=1e-6, atol=1e-12):
            continue
        advice = {
            "you forgot the factor alpha.": focal_loss(p, 1.0, gamma),
            "the focal factor is (1 - p)^gamma: it shrinks the loss of *easy* examples (p near 1).":
                -alpha * p**gamma * np.log(p),
            "cross-entropy is -log(p): mind the minus sign.": -expected,
        }
        why = advice_for(got, advice)
        raise Incorrect(f"with alpha={alpha:.2f}, gamma={gamma:.2f}, p_true={p[0]:.3f} you returned {got[0]:.5f}; "
                        f"expected {expected[0]:.5f}. {why}".rstrip())
    return ("focal_loss = -alpha (1 - p)^gamma log p; with gamma = 0 and alpha = 1 it is cross-entropy. Keras: "
            "keras.losses.CategoricalFocalCrossentropy.")


def _check_sum_probabilities(answer) -> str:
    fn = expect_callable(answer, "sum_probabilities")
    for n in (1, 2, 3, 5, 0):
        got = expect_array(call(fn, n, name="sum_probabilities"), (46,), f"sum_probabilities({n})")
        expected = sum_probabilities(n)
        if np.allclose(got, expected, atol=1e-12):
            continue
        advice = ("the sum of uniform digits is not uniform: it is a convolution of the digit distributions."
                  if np.allclose(got[got > 0], got[got > 0][0]) else
                  "the probabilities must add up to 1." if not np.isclose(got.sum(), 1.0) else "")
        s = int(np.argmax(np.abs(got - expected)))
        raise Incorrect(f"sum_probabilities({n})[{s}] is {got[s]:.5f}; expected {expected[s]:.5f}. "
                        f"{advice}".rstrip())
    p5 = sum_probabilities(5)
    return (f"with 5 digits, sums 22 and 23 each have probability {p5[22]:.3f}, while 0 and 45 have {p5[0]:.0e}: "
            f"{p5[22] / p5[0]:,.0f} times rarer. That is the class imbalance focal loss is meant for.")


# ----------------------------------------------------------------------------- questions

q1 = Question(
    "focal_loss", _check_focal,
    hint="Cross-entropy of one example is -log(p_true). Focal loss multiplies it by alpha and by (1 - p_true) "
         "** gamma. Work on the whole array at once with numpy.",
    solution=focal_loss,
)

q2 = Question(
    "sum_probabilities", _check_sum_probabilities,
    hint="One digit: 10 values of 0.1. The distribution of a sum of independent variables is the convolution "
         "of theirs: np.convolve, once per digit. Pad the result with zeros to length 46.",
    solution=sum_probabilities,
)

q3 = OpenQuestion(
    "ex08.q3 (what does sum-only supervision cost?)",
    hint="Compare what each model is told per canvas: the detector of 09 gets 5 boxes and 5 labels, the sequence "
         "model 5 labels in order, the ResNet one number. Count how many canvases each needs to reach 50% sum "
         "accuracy (from the learning curves), and think about how a network could discover digits from sums.",
    solution="""\
Discussion (what a good answer says):
- With the sum only, the network must discover by itself that the canvas contains separate objects, which of
  them count (digits, not clothes), what each one is worth, and that the values add up. The label of a canvas
  says nothing about which digit carries which part of the sum: this is a credit-assignment problem, and it
  is solved only statistically, over very many canvases.
- A 46-way classification of the sum treats 22 and 23 as unrelated classes; it ignores their order. Rare
  sums (near 0 or 45) get very few examples; focal loss and class weights re-weight them but cannot create
  information.
- Architectures that build in the structure learn far faster from sums alone: a per-location "value map"
  (each position predicts a distribution over the values 0..9), or attention over object slots. The sum is
  then a fixed, differentiable function of per-digit answers.
- The loss matters as much. Summing the expected values and scoring them with a mean-squared error accepts
  soft answers that are right on average. Taking each position's value as an independent draw gives the sum a
  distribution (the convolution of theirs); its likelihood rewards only sure, exact answers.
- So does what the structure rules out. Every position near a digit sees the whole digit, so a map with one
  value per window can count a digit twice; digits do not overlap, so one value per block of positions that
  can hold only one digit's centre (a cell) removes that mistake inside each cell.
- A curriculum helps too: canvases with 0 or 1 digits first (the sum is then the digit's label!), then more.
- Cost in the course: the sum-only ResNet stays at the plateau of the most common sum (5.9%) after 25,000
  canvases. The value map trained by MSE reached 68% after 8 million canvases on a GPU; trained by the
  likelihood of the sum, 84% after 416,000 canvases on 2 CPU cores, and with one value per cell 89% after
  400,000 (the shipped sum-only: 91% after 216,800 more, and 97.3% when each canvas is read at four shifts of
  a pixel, with no more labels). The detector of 09, told the boxes and labels, reaches 98.2% (see the
  comparison table).""",
)
