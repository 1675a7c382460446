"""The yardstick: a plain per-image Python loop of the reference recipe.

Written from the recipe in the README (not from our vectorised code): for each
image, try 5 MNIST digits at up to 20 random positions each and 10
Fashion-MNIST patches at up to 10 positions each, accepting a position only if
the patch overlaps nothing placed so far; then scale to [0, 1], multiply by 0.8
and add U(0, 0.2) noise. The label is the sum of the placed digits.

``python -m mnistsum bench`` times it side by side with
:func:`mnistsum.generator.generate` on one core.
"""

from __future__ import annotations

import numpy as np

CANVAS, PATCH = 128, 28


def _overlaps(x: int, y: int, boxes: list[tuple[int, int]]) -> bool:
    for bx, by in boxes:
        if abs(x - bx) < PATCH and abs(y - by) < PATCH:
            return True
    return False


def make_image(rng: np.random.Generator, digits: np.ndarray, labels: np.ndarray,
               clutter: np.ndarray) -> tuple[np.ndarray, int]:
    """One canvas and its sum, the way the reference generator makes it."""
    canvas = np.zeros((CANVAS, CANVAS))
    boxes: list[tuple[int, int]] = []
    total = 0
    for pool, count, attempts in ((digits, 5, 20), (clutter, 10, 10)):
        for _ in range(count):
            k = rng.integers(len(pool))
            for _ in range(attempts):
                x, y = rng.integers(0, CANVAS - PATCH + 1, size=2)
                if not _overlaps(x, y, boxes):
                    canvas[y:y + PATCH, x:x + PATCH] = pool[k] / 255.0
                    boxes.append((x, y))
                    if pool is digits:
                        total += int(labels[k])
                    break
    canvas = canvas * 0.8 + rng.uniform(0.0, 0.2, size=canvas.shape)
    return canvas, total


def make_batch(n: int, seed: int, digits: np.ndarray, labels: np.ndarray,
               clutter: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``n`` canvases ``(n, 128, 128, 1)`` and sums ``(n,)``, one image at a time."""
    rng = np.random.default_rng(seed)
    images = np.empty((n, CANVAS, CANVAS, 1), np.float32)
    sums = np.empty(n, np.int32)
    for i in range(n):
        images[i, ..., 0], sums[i] = make_image(rng, digits, labels, clutter)
    return images, sums
