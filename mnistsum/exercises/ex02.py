"""Exercises of notebook 02 (the generator). Set-up: ``from mnistsum.exercises import ____, ex02``.

- q1: define ``overlaps(box_a, box_b)``, then ``ex02.q1.check(overlaps)``.
- q2: define ``place_patches(n, attempts, rng, canvas=128, patch=28)``, then ``ex02.q2.check(place_patches)``.
- q3 (open): ``ex02.q3.hint()``, ``ex02.q3.solution()``.
"""

from __future__ import annotations

import numpy as np

from mnistsum.exercises.core import Incorrect, OpenQuestion, Question, call, expect_callable, expect_equal

__all__ = ["q1", "q2", "q3"]


# ----------------------------------------------------------------------------- references

def overlaps(box_a: tuple[int, int, int, int], box_b: tuple[int, int, int, int]) -> bool:
    """True when boxes ``(x0, y0, x1, y1)`` (x1, y1 exclusive) share at least one pixel.

    >>> overlaps((0, 0, 28, 28), (27, 27, 55, 55)), overlaps((0, 0, 28, 28), (28, 0, 56, 28))
    (True, False)
    """
    ax0, ay0, ax1, ay1 = box_a
    bx0, by0, bx1, by1 = box_b
    return bool(ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1)


def place_patches(n: int, attempts: int, rng: np.random.Generator, canvas: int = 128,
                  patch: int = 28) -> list[tuple[int, int]]:
    """Top-left corners of up to ``n`` non-overlapping ``patch``-square patches, by rejection sampling.

    Each patch tries up to ``attempts`` random corners in ``0..canvas - patch``
    and takes the first that overlaps nothing placed so far; if none is free,
    that patch is skipped.

    >>> place_patches(3, 10, np.random.default_rng(0), canvas=28)  # room for one patch only
    [(0, 0)]
    """
    placed: list[tuple[int, int]] = []
    for _ in range(n):
        for _ in range(attempts):
            x, y = (int(v) for v in rng.integers(0, canvas - patch + 1, size=2))
            if all(abs(x - px) >= patch or abs(y - py) >= patch for px, py in placed):
                placed.append((x, y))
                break
    return placed


# ----------------------------------------------------------------------------- q1

#: Cases worth a sentence of their own when they go wrong.
_TEACHING_BOXES = [
    ((0, 0, 28, 28), (28, 0, 56, 28), "they only touch along an edge: x1 is exclusive, so the first box covers "
                                      "columns 0..27 and the second starts at column 28"),
    ((0, 0, 28, 28), (0, 28, 28, 56), "they only touch along an edge: y1 is exclusive, so the first box covers "
                                      "rows 0..27 and the second starts at row 28"),
    ((0, 0, 28, 28), (28, 28, 56, 56), "they only touch at a corner: pixel (28, 28) belongs to the second box only"),
    ((0, 0, 28, 28), (27, 27, 55, 55), "they share pixel (27, 27)"),
    ((10, 10, 90, 90), (30, 30, 40, 40), "one box lies inside the other"),
    ((30, 30, 40, 40), (10, 10, 90, 90), "one box lies inside the other"),
    ((0, 40, 100, 50), (40, 0, 50, 100), "they cross like a plus sign, although no corner of one lies in the other"),
    ((0, 0, 28, 28), (60, 0, 88, 28), "they are far apart along x"),
    ((5, 5, 33, 33), (5, 5, 33, 33), "they are the same box"),
]


def _random_box(rng: np.random.Generator) -> tuple[int, int, int, int]:
    x0, y0 = (int(v) for v in rng.integers(0, 40, 2))
    w, h = (int(v) for v in rng.integers(1, 30, 2))
    return x0, y0, x0 + w, y0 + h


def _check_overlaps(answer) -> str:
    fn = expect_callable(answer, "overlaps")
    rng = np.random.default_rng()
    cases = [(a, b, why) for a, b, why in _TEACHING_BOXES] + [(_random_box(rng), _random_box(rng), "")
                                                              for _ in range(400)]
    for a, b, why in cases:
        expected = overlaps(a, b)
        got = call(fn, a, b, name="overlaps")
        if not isinstance(got, (bool, np.bool_)):
            raise Incorrect(f"overlaps{(a, b)} returned {got!r} ({type(got).__name__}); return True or False.")
        expect_equal(bool(got), expected, f"overlaps{(a, b)}", (why and f"The answer is {expected}: {why}.")
                     or ("Two boxes overlap when they overlap along x (a.x0 < b.x1 and b.x0 < a.x1) "
                         "and along y."))
    return "overlaps agrees with the reference on 9 teaching cases and 400 random boxes (touching is not overlapping)."


# ----------------------------------------------------------------------------- q2

def _corners(result, n: int, canvas: int, patch: int, call_text: str) -> list[tuple[int, int]]:
    """Validate one result: a list of in-range integer corner pairs, at most ``n``, none overlapping."""
    try:
        corners = [tuple(c) for c in result]
    except TypeError:
        raise Incorrect(f"{call_text} returned {type(result).__name__}; return a list of (x, y) tuples.") from None
    if len(corners) > n:
        raise Incorrect(f"your generator placed {len(corners)} digits; the limit is {n} ({call_text}): "
                        "each of the n patches gets one chance to be placed (after up to `attempts` tries).")
    for c in corners:
        if len(c) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in c):
            raise Incorrect(f"{call_text} returned the corner {c!r}; each corner must be a pair of integers (x, y).")
        if not all(0 <= v <= canvas - patch for v in c):
            raise Incorrect(f"{call_text} returned the corner {tuple(int(v) for v in c)}, off the canvas: "
                            f"corners must lie in 0..{canvas - patch} so that the whole {patch}x{patch} patch fits.")
    corners = [(int(x), int(y)) for x, y in corners]
    for i, (x, y) in enumerate(corners):
        for px, py in corners[:i]:
            if overlaps((x, y, x + patch, y + patch), (px, py, px + patch, py + patch)):
                raise Incorrect(f"{call_text} placed patches at {(px, py)} and {(x, y)}, which overlap: "
                                "a position is accepted only if it overlaps nothing placed so far.")
    return corners


def _placements(fn, n: int, attempts: int, calls: int, rng: np.random.Generator, canvas: int = 128,
                patch: int = 28) -> list[list[tuple[int, int]]]:
    """``calls`` validated results of the learner's function, each with a fresh generator."""
    text = f"place_patches({n}, {attempts}, rng, canvas={canvas}, patch={patch})"
    return [_corners(call(fn, n, attempts, np.random.default_rng(rng.integers(2**63)), canvas, patch,
                          name="place_patches"), n, canvas, patch, text) for _ in range(calls)]


#: Mean number of patches the rule places with n=16 on a 128 canvas (reference, 100 000 calls each).
_MEAN_PLACED_16 = {1: 5.89, 20: 9.38}


def _check_place(answer) -> str:
    fn = expect_callable(answer, "place_patches")
    rng = np.random.default_rng()
    for n, attempts, canvas, patch in ((5, 20, 128, 28), (16, 20, 128, 28), (12, 5, 64, 10), (1, 1, 40, 3)):
        _placements(fn, n, attempts, 3, rng, canvas, patch)
    seed = int(rng.integers(2**63))
    first, again = (_corners(call(fn, 5, 20, np.random.default_rng(seed), 128, 28, name="place_patches"),
                             5, 128, 28, "place_patches(5, 20, rng)") for _ in range(2))
    if first != again:
        raise Incorrect("two calls with generators made from the same seed gave different corners: draw every "
                        "random number from the `rng` argument (rng.integers), not from np.random or random.")
    if any(len(c) != 1 for c in _placements(fn, 3, 5, 5, rng, canvas=28, patch=28)):
        raise Incorrect("on a 28x28 canvas a 28x28 patch fits only at (0, 0): place_patches(3, 5, rng, canvas=28) "
                        "must place exactly one patch and skip the other two.")
    xs = {c[0][0] for c in _placements(fn, 1, 1, 40, rng, canvas=29, patch=28)}
    if xs != {0, 1}:
        raise Incorrect(f"with canvas=29 and patch=28, x should be 0 or 1 but over 40 calls it was only {sorted(xs)}: "
                        "draw corners from 0..canvas - patch inclusive, i.e. rng.integers(0, canvas - patch + 1).")
    n_all_five = sum(len(c) == 5 for c in _placements(fn, 5, 20, 100, rng))
    if n_all_five < 95:
        raise Incorrect(f"with n=5, attempts=20 on a 128 canvas your generator placed all 5 patches in only "
                        f"{n_all_five} of 100 calls; the rule places all 5 in about 99.6% of calls.")
    one, twenty = (float(np.mean([len(c) for c in _placements(fn, 16, a, 60, rng)])) for a in (1, 20))
    if not one < twenty - 1:
        raise Incorrect(f"with n=16 your generator placed {one:.1f} patches on average with attempts=1 and "
                        f"{twenty:.1f} with attempts=20: does each patch really retry up to `attempts` times?")
    for got, a in ((one, 1), (twenty, 20)):
        if abs(got - _MEAN_PLACED_16[a]) > 1.0:
            raise Incorrect(f"with n=16, attempts={a} your generator placed {got:.1f} patches on average; "
                            f"the rule places {_MEAN_PLACED_16[a]:.1f}. Remember: a patch that finds no free "
                            "position is skipped, and the next patch still gets its own attempts.")
    return ("place_patches follows the rejection rule: never more than n patches, none overlapping, all 5 placed "
            "almost always, and with n=16 more patches placed with 20 attempts than with 1.")


# ----------------------------------------------------------------------------- questions

q1 = Question(
    "overlaps", _check_overlaps,
    hint="Two intervals [a0, a1) and [b0, b1) share a point exactly when a0 < b1 and b0 < a1 (strict: with "
         "exclusive ends, touching intervals share nothing). Two boxes overlap when their x intervals and "
         "their y intervals both do.",
    solution=overlaps,
)

q2 = Question(
    "place_patches", _check_place,
    hint="Two nested loops: for each of the n patches, for each of up to `attempts` tries, draw x and y with "
         "rng.integers(0, canvas - patch + 1); keep the position and `break` if it overlaps none of the "
         "patches placed so far (use your overlaps with boxes (x, y, x + patch, y + patch)). A patch whose "
         "tries all fail is skipped: just move on to the next one.",
    solution=place_patches,
)

q3 = OpenQuestion(
    "ex02.q3 (overlapping digits)",
    hint="CanvasConfig has no switch for overlaps: build the variant with your place_patches (drop the overlap "
         "test) or set digit_attempts=1 and compare. Measure three things on a few thousand canvases: how "
         "many digits are placed, the distribution of the sums (np.bincount), and how much of each digit "
         "stays visible. Then ask what the label means when one digit hides another.",
    solution="""\
def place_overlapping(n, rng, canvas=128, patch=28):
    return [tuple(int(v) for v in rng.integers(0, canvas - patch + 1, size=2)) for _ in range(n)]

rng = np.random.default_rng(0)
labels = load_pools("train").labels
sums_rule, sums_free = [], []
for _ in range(5000):
    digits = rng.choice(labels, 5)
    sums_rule.append(digits[:len(place_patches(5, 20, rng))].sum())
    sums_free.append(digits[:len(place_overlapping(5, rng))].sum())   # always 5 digits
# plot np.bincount(sums_rule, minlength=46) against np.bincount(sums_free, minlength=46)

Discussion (what a good answer says):
- With overlaps allowed every image gets all 5 digits, so the sum distribution is exactly the 5-fold
  convolution of the digit frequencies (mnistsum.analysis.sum_distribution(p, 5)); the no-overlap rule
  only removes the rare images where a digit found no room (about 0.4%), a small shift towards lower sums.
  The distribution barely changes - the *images* do.
- Overlapping digits change the task: the label still counts a digit that is half hidden, so some labels
  become unreadable, even for a human. Measure it: the share of images where two digit boxes overlap, and
  the mean hidden fraction of a digit (area of intersection / 784).
- Expected effect on a model: the irreducible error grows, so sum accuracy drops, most for images with
  heavy overlap. A good answer proposes a fix (keep the rule, or cap the overlap at, say, 25% of a patch)
  and says that clutter placed after the digits could hide digits in the same way.""",
)
