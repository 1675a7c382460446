"""Exercises of notebook 01 (data exploration). Set-up: ``from mnistsum.exercises import ____, ex01``.

- q1: define ``ink_per_class(images, labels)``, then ``ex01.q1.check(ink_per_class)``.
- q2: define ``digit_like_share(clothes, clothes_labels, templates, threshold)``,
  then ``ex01.q2.check(digit_like_share)``.
- q3 (open): ``ex01.q3.hint()``, ``ex01.q3.solution()``.
"""

from __future__ import annotations

import numpy as np

from mnistsum.analysis import correlation
from mnistsum.exercises.core import (
    Incorrect, OpenQuestion, Question, advice_for, call, expect_array, expect_callable
)

__all__ = ["q1", "q2", "q3"]


# ----------------------------------------------------------------------------- references

def ink_per_class(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean number of pixels brighter than 127 in the images of each class 0..9: shape (10,).

    >>> ink_per_class(np.full((10, 2, 2), 200, np.uint8), np.arange(10))
    array([4., 4., 4., 4., 4., 4., 4., 4., 4., 4.])
    """
    ink = (images > 127).reshape(len(images), -1).sum(axis=1)
    return np.bincount(labels, weights=ink, minlength=10) / np.bincount(labels, minlength=10)


def digit_like_share(clothes: np.ndarray, clothes_labels: np.ndarray, templates: np.ndarray,
                     threshold: float) -> np.ndarray:
    """Per clothes class 0..9, the share of its images whose best template correlation exceeds ``threshold``.

    >>> t = np.zeros((10, 2, 2)); t[:, 0, 0] = 1
    >>> digit_like_share(np.tile(t[:1], (10, 1, 1)), np.arange(10), t, 0.9)
    array([1., 1., 1., 1., 1., 1., 1., 1., 1., 1.])
    """
    best = correlation(clothes, templates).max(axis=1)  # (N,): best Pearson correlation of each image
    hits = (best > threshold).astype(float)
    return np.bincount(clothes_labels, weights=hits, minlength=10) / np.bincount(clothes_labels, minlength=10)


# ----------------------------------------------------------------------------- random test data

def _labels(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` labels in 0..9, every class present."""
    return rng.permutation(np.concatenate([np.arange(10), rng.integers(0, 10, n - 10)])).astype(np.uint8)


def _ink_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images whose amount of ink depends on the class (values 127 and 128 included)."""
    labels = _labels(rng, n)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    blank = rng.random(images.shape) < (0.25 + 0.06 * labels)[:, None, None]
    images[blank] = 0
    return images, labels


def _blur(x: np.ndarray, times: int = 3) -> np.ndarray:
    for _ in range(times):
        x = (x + np.roll(x, 1, -1) + np.roll(x, -1, -1) + np.roll(x, 1, -2) + np.roll(x, -1, -2)) / 5
    return x


def _clothes_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Clothes that are noisy copies of the templates, more faithful in higher classes, and a threshold.

    The threshold sits in the widest gap between neighbouring best correlations
    near the median, so float32 round-off cannot move an image across it.
    """
    templates = _blur(rng.random((10, 28, 28))) * 255
    labels = _labels(rng, n)
    weight = rng.uniform(0.0, 1.0, n) * (0.3 + 0.07 * labels)
    pick = rng.integers(0, 10, n)
    clothes = weight[:, None, None] * templates[pick] * 1.5 + rng.normal(0, 40, (n, 28, 28)) + 60
    clothes = np.clip(clothes, 0, 255).astype(np.uint8)
    best = np.sort(correlation(clothes, templates).max(axis=1))
    middle = slice(n // 4, 3 * n // 4)
    gaps = np.diff(best)[middle]
    i = n // 4 + int(gaps.argmax())
    return clothes, labels, templates, float((best[i] + best[i + 1]) / 2)


# ----------------------------------------------------------------------------- checkers

def _per_class(values: np.ndarray, labels: np.ndarray, how: str) -> np.ndarray:
    totals = np.bincount(labels, weights=values, minlength=10)
    return totals if how == "sum" else totals / np.bincount(labels, minlength=10)


def _check_ink(answer) -> str:
    fn = expect_callable(answer, "ink_per_class")
    rng = np.random.default_rng()
    for n in (60, 250):
        images, labels = _ink_data(rng, n)
        expected = ink_per_class(images, labels)
        got = expect_array(call(fn, images.copy(), labels.copy(), name="ink_per_class"), (10,),
                           f"ink_per_class(images, labels) on {n} images")
        if np.allclose(got, expected):
            continue
        flat = images.reshape(n, -1)
        advice = {
            "count pixels strictly above 127 (> 127, not >= 127).": _per_class((flat >= 127).sum(1), labels, "mean"),
            "you returned the share of bright pixels; count them instead (sum over the pixels of each image, "
            "then average over the images of the class).": _per_class((flat > 127).mean(1), labels, "mean"),
            "you returned the total over all the images of a class; average over them instead.":
                _per_class((flat > 127).sum(1), labels, "sum"),
            "you averaged the pixel values; count the pixels above 127 instead.":
                _per_class(flat.mean(1), labels, "mean"),
        }
        why = advice_for(got, advice)
        k = int(np.argmax(~np.isclose(got, expected)))
        raise Incorrect(f"for class {k} your function returned {got[k]:.4g}, but its {np.sum(labels == k)} images "
                        f"have {expected[k]:.4g} pixels > 127 on average. {why}".rstrip())
    return "ink_per_class agrees with the reference on fresh random images. Now run it on x_train, y_train: " \
           "which digit has the most ink, and which the least?"


def _unit_rows(x: np.ndarray, centre: bool) -> np.ndarray:
    x = x.reshape(len(x), -1).astype(float)
    x = x - x.mean(axis=1, keepdims=True) if centre else x
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _check_share(answer) -> str:
    fn = expect_callable(answer, "digit_like_share")
    rng = np.random.default_rng()
    for n in (120, 300):
        clothes, labels, templates, threshold = _clothes_data(rng, n)
        expected = digit_like_share(clothes, labels, templates, threshold)
        got = expect_array(call(fn, clothes.copy(), labels.copy(), templates.copy(), threshold,
                                name="digit_like_share"), (10,), "digit_like_share(...)")
        if np.allclose(got, expected):
            continue
        cosine = (_unit_rows(clothes, False) @ _unit_rows(templates, False).T).max(1) > threshold
        pearson = correlation(clothes, templates).max(1) > threshold
        advice = {
            "you used the plain cosine: centre each image (subtract its mean) before normalising, "
            "or use mnistsum.analysis.correlation.": _per_class(cosine.astype(float), labels, "mean"),
            "you returned counts; divide by the number of images of each class to get a share.":
                _per_class(pearson.astype(float), labels, "sum"),
            "divide by the number of images of each class, not by the number of all images.":
                _per_class(pearson.astype(float), labels, "sum") / n,
        }
        why = advice_for(got, advice)
        k = int(np.argmax(~np.isclose(got, expected)))
        raise Incorrect(f"for clothes class {k} (threshold {threshold:.3f}) your function returned {got[k]:.4g}; "
                        f"expected {expected[k]:.4g}: the share of its images whose best correlation with any "
                        f"of the 10 templates is above the threshold. {why}".rstrip())
    return "digit_like_share agrees with the reference on fresh random clothes and templates. Use it with " \
           "the digit means and the median correlation of a digit with its own template as the threshold."


# ----------------------------------------------------------------------------- questions

q1 = Question(
    "ink_per_class", _check_ink,
    hint="(images > 127) is a boolean array (N, 28, 28); sum it over the two pixel axes to get one count per "
         "image, then average the counts of the images with labels == k, for k in range(10) (or use "
         "np.bincount with weights= to do all classes at once).",
    solution=ink_per_class,
)

q2 = Question(
    "digit_like_share", _check_share,
    hint="correlation(clothes, templates) from mnistsum.analysis gives an (N, 10) matrix; take the maximum over "
         "the templates (axis=1), compare with the threshold, then average the booleans per clothes class.",
    solution=["from mnistsum.analysis import correlation", digit_like_share],
)

q3 = OpenQuestion(
    "ex01.q3 (most digit-like clothes)",
    hint="Correlate all Fashion training images with the ten mean digits (correlation(f_train, digit_means), "
         "(60000, 10)); for each digit d take the argmax of column d and show the ten winners with image_grid "
         "beside the mean digits. Then ask: would a CNN be fooled by them, and why (or why not)?",
    solution="""\
scores = correlation(f_train, digit_means)          # (60000, 10)
winners = scores.argmax(axis=0)                      # one clothes image per digit
image_grid(np.concatenate([digit_means, f_train[winners]]),
           [f"mean {d}" for d in range(10)] + [f"{FASHION_CLASSES[fy_train[i]].split('/')[0]} {scores[i, d]:.2f}"
                                                for d, i in enumerate(winners)], cols=10)

Discussion (what a good answer says):
- The winners are mostly dresses, trousers, coats and shirts: tall, centred, smooth blobs. They match the
  *blurry* mean digits (the mean 1 is a vertical bar, the mean 0 a ring, the mean 8 a fat blob), not any
  real digit: template matching measures the coarse layout of ink, not strokes.
- Correlations of 0.6-0.8 are as high as those of many real digits with their own template, so a model
  that only matched blobs of ink would count such clothes as digits.
- A CNN learns local stroke features (edges, line ends, curvature) and texture: clothes have filled areas
  and fabric texture that digits never have, so the best matches by correlation are not necessarily the
  clutter that fools a CNN. Notebook 05 checks which clutter really hurts (accuracy by number of clothes).
- Good answers also note the limits: one image per digit is an anecdote; the per-class shares of q2 are
  the measurement.""",
)
