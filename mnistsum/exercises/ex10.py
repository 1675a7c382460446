"""Exercises of notebook 10 (the auto-encoder and muddled digits). Set-up: ``from mnistsum.exercises import ____, ex10``.

- q1: define ``latent_path(l1, l2, steps)``, then ``ex10.q1.check(latent_path)``.
- q2: define ``two_label_share(probabilities, source, partner)``, then ``ex10.q2.check(two_label_share)``.
- q3 (open): ``ex10.q3.hint()``, ``ex10.q3.solution()``.
"""

from __future__ import annotations

import numpy as np

from mnistsum.exercises.core import Incorrect, OpenQuestion, Question, call, expect_array, expect_callable, expect_number

__all__ = ["q1", "q2", "q3"]


# ----------------------------------------------------------------------------- references

def latent_path(l1, l2, steps: int) -> np.ndarray:
    """``steps`` evenly spaced points from ``l1`` to ``l2``, both included: ``(steps, D)``.

    >>> latent_path(np.array([0.0, 2.0]), np.array([1.0, 0.0]), 3).tolist()
    [[0.0, 2.0], [0.5, 1.0], [1.0, 0.0]]
    """
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return (1 - t) * np.asarray(l1, float) + t * np.asarray(l2, float)


def two_label_share(probabilities, source, partner) -> float:
    """The share of rows whose two most likely classes are exactly ``source[i]`` and ``partner[i]`` (in either order).

    >>> two_label_share(np.array([[0.5, 0.4, 0.1], [0.5, 0.1, 0.4]]), np.array([0, 0]), np.array([1, 1]))
    0.5
    """
    top2 = np.sort(np.argsort(np.asarray(probabilities), axis=1)[:, -2:], axis=1)
    pair = np.sort(np.stack([np.asarray(source), np.asarray(partner)], axis=1), axis=1)
    return float((top2 == pair).all(axis=1).mean())


# ----------------------------------------------------------------------------- checkers

def _check_latent_path(answer) -> str:
    fn = expect_callable(answer, "latent_path")
    rng = np.random.default_rng()
    for steps in (2, 5, int(rng.integers(6, 30))):
        d = int(rng.integers(2, 12))
        l1, l2 = rng.normal(size=d), rng.normal(size=d)
        got = expect_array(call(fn, l1.copy(), l2.copy(), steps, name="latent_path"), (steps, d),
                           f"latent_path(l1, l2, steps={steps}) for {d}-dimensional latents")
        expected = latent_path(l1, l2, steps)
        if np.allclose(got, expected, atol=1e-6):
            continue
        if np.allclose(got, expected[::-1], atol=1e-6):
            advice = "The path runs the wrong way: the first point is l1 (t = 0), the last is l2 (t = 1)."
        elif np.allclose(got[0], l1) and not np.allclose(got[-1], l2):
            advice = "The last point must be l2 itself: np.linspace(0, 1, steps) includes both ends."
        else:
            advice = "Each point is (1 - t) * l1 + t * l2, with t evenly spaced from 0 to 1."
        row = int(np.argmax(np.abs(got - expected).max(axis=1)))
        raise Incorrect(f"with steps={steps}, point {row} is {np.round(got[row][:3], 3)}...; expected "
                        f"{np.round(expected[row][:3], 3)}... {advice}")
    return "latent_path is right; the decoder turns each point into an image, and muddle() picks one of them."


def _check_two_label_share(answer) -> str:
    fn = expect_callable(answer, "two_label_share")
    rng = np.random.default_rng()
    for n in (1, 20, 200):
        p = rng.dirichlet(np.full(10, 0.3), n)
        source = rng.integers(0, 10, n)
        partner = (source + rng.integers(1, 10, n)) % 10
        # make some rows hit the pair in either order, so that order mistakes show
        hit = rng.random(n) < 0.5
        p[hit, source[hit]] += 2 * rng.random(hit.sum()) + 1
        p[hit, partner[hit]] += 2 * rng.random(hit.sum()) + 1
        p /= p.sum(axis=1, keepdims=True)
        got = expect_number(call(fn, p.copy(), source.copy(), partner.copy(), name="two_label_share"),
                            f"two_label_share for {n} rows")
        expected = two_label_share(p, source, partner)
        if abs(got - expected) < 1e-9:
            continue
        in_order = np.argsort(p, axis=1)[:, ::-1][:, :2]
        ordered = float(((in_order[:, 0] == source) & (in_order[:, 1] == partner)).mean())
        either = float(((p.argmax(axis=1) == source) | (p.argmax(axis=1) == partner)).mean())
        advice = ("The order of the two must not matter: the partner may be the more likely one."
                  if abs(got - ordered) < 1e-9 else
                  "Look at the two most likely classes, not only the most likely one."
                  if abs(got - either) < 1e-9 else
                  "Compare each row's two largest probabilities with that row's source and partner.")
        raise Incorrect(f"for {n} rows you returned {got:.4f}; expected {expected:.4f}. {advice}")
    return "two_label_share is right: it is the second of the course's goals for muddled digits (>= 0.60)."


# ----------------------------------------------------------------------------- questions

q1 = Question(
    "latent_path", _check_latent_path,
    hint="t = np.linspace(0, 1, steps) includes both ends; with t as a column, (1 - t) * l1 + t * l2 broadcasts "
         "to (steps, D).",
    solution=latent_path,
)

q2 = Question(
    "two_label_share", _check_two_label_share,
    hint="np.argsort(probabilities, axis=1)[:, -2:] gives each row's two most likely classes; sort them, sort each "
         "(source, partner) pair too, and compare the rows.",
    solution=two_label_share,
)

q3 = OpenQuestion(
    "ex10.q3 (when the partner is not the nearest class)",
    hint="Muddle digits of one class with a partner you choose that is *far* in latent space (for example 1 with "
         "0). Copy mnistsum.autoencoder.muddle's steps with the partner fixed, judge the results with "
         "mnistsum.autoencoder.judge, and compare with the nearest-class partner. Look at the decoded path too.",
    solution="""\
encoder, decoder, classifier, means = shipped_muddler()   # from mnistsum.autoencoder
# l1 = latents of 200 test 1s, l2 = latents of 200 test 0s; path = decode_path(decoder, l1, l2, ts)
# for each t: classifier probabilities; keep the most torn point as muddle(method="balanced") does

Discussion (what a good answer says):
- Between far clusters the straight line crosses other classes' regions: the decoded path from a 1 to a 0
  passes through images the classifier reads as a third digit (often 6, 2 or 8), so the share whose top two
  are exactly {1, 0} drops well below what the nearest partner gives.
- The midpoint of two far latents may not look like any digit (the top-2 mass falls), which is the
  "midpoint lies between the clusters" assumption failing: a straight line in latent space is not a path
  through the data.
- Measured answers report the two-label share and mean top confidence for both partners, with n and seed,
  and show a few decoded paths.""",
)
