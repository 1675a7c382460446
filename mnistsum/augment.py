"""Digit augmentation for training canvases: the same MNIST digits, slightly turned, scaled and sheared,
and, if asked, elastically distorted.

A model that has seen the 50,000 training digits millions of times learns them by heart (notebook 09's
detector ends with a training loss ten times below its validation loss). The classic remedy for MNIST
is to train on small random affine warps of the digits, and on *elastic* distortions, which Simard,
Steinkraus and Platt (2003) found better still: every pixel moved by a random field smoothed with a
Gaussian, as a hand wobbles. :func:`augmented_pools` adds ``copies`` warped variants of every digit of a
split's pool; the generator then draws from the larger pool, so canvases are made exactly as before,
with more varied digits. It is for training only: the validation and benchmark canvases keep the plain
MNIST digits.

>>> import numpy as np
>>> bar = np.zeros((1, 28, 28), np.uint8); bar[0, 4:24, 13:15] = 255
>>> turned = warp_digits(bar, rotation_matrices(np.array([90.0])))
>>> int(turned[0, 13:15, 4:24].min()) > 200, int(turned[0, 4:11, 13:15].max())  # now across; its ends are gone
(True, 0)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from mnistsum.generator import PATCH, Pools

_CENTRE = (PATCH - 1) / 2  # digits turn about the middle of the patch
_WARPED_AT_ONCE = 8_192  # digits warped together: their 8,192 elastic fields take 51 MB


@dataclass(frozen=True)
class DigitAugment:
    """How many warped copies of each digit to add, and how far each warp may go (uniform in ``±``):
    ``rotation`` in degrees, ``scale`` as a share of the size, ``shear`` as a slope. ``elastic`` is the
    strength α of an elastic distortion on top (0: none; Simard et al. used 34 with ``elastic_sigma`` 4
    pixels, moving each pixel by about 1.3 pixels along each axis). ``seed`` fixes the warps."""

    copies: int = 8
    rotation: float = 12.0
    scale: float = 0.12
    shear: float = 0.25
    seed: int = 0
    elastic: float = 0.0
    elastic_sigma: float = 4.0

    def __post_init__(self) -> None:
        if isinstance(self.copies, bool) or not isinstance(self.copies, int) or not 1 <= self.copies <= 64:
            raise ValueError(f"DigitAugment.copies={self.copies!r} is invalid: it must be an integer in [1, 64].")
        for field, high in (("rotation", 45.0), ("scale", 0.5), ("shear", 1.0), ("elastic", 100.0)):
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= high:
                raise ValueError(f"DigitAugment.{field}={value!r} is invalid: it must be a number in [0, {high:g}].")
        sigma = self.elastic_sigma
        if not isinstance(sigma, (int, float)) or not 0.5 <= sigma <= 14.0:
            raise ValueError(f"DigitAugment.elastic_sigma={sigma!r} is invalid: it must be a number of pixels in "
                             "[0.5, 14].")

    def matrices(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` random warps ``(n, 2, 2)``: each maps an output pixel's offset from the centre to where
        it is read in the original digit."""
        turn = rotation_matrices(rng.uniform(-self.rotation, self.rotation, n))
        size = 1.0 + rng.uniform(-self.scale, self.scale, (n, 2))  # each axis its own scale
        shear = np.eye(2) + np.einsum("n,ij->nij", rng.uniform(-self.shear, self.shear, n), [[0, 1], [0, 0]])
        return np.linalg.inv(turn @ shear * size[:, :, None])  # read where the forward warp came from

    def displacements(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` random elastic fields ``(n, 2, 28, 28)``: how far (pixels, ``(y, x)``) each output pixel
        reads from where the affine warp reads; uniform noise in ±1 smoothed by a Gaussian of
        ``elastic_sigma`` pixels (a separable blur, two matrix products), times ``elastic``.

        >>> field = DigitAugment(elastic=34.0).displacements(500, np.random.default_rng(0))
        >>> field.shape, 1.0 < float(field.std()) < 2.0
        ((500, 2, 28, 28), True)
        """
        offsets = np.arange(PATCH)
        blur = np.exp(-0.5 * ((offsets[:, None] - offsets[None, :]) / self.elastic_sigma) ** 2)
        blur /= np.sqrt(2 * np.pi) * self.elastic_sigma  # the normalised kernel, cut at the patch's edge
        noise = rng.uniform(-1.0, 1.0, (n, 2, PATCH, PATCH))
        return (self.elastic * blur @ noise @ blur.T).astype(np.float32)


def rotation_matrices(degrees: np.ndarray) -> np.ndarray:
    """``(n, 2, 2)`` rotations by ``degrees`` (counter-clockwise on screen), acting on ``(y, x)`` offsets."""
    a = np.deg2rad(np.asarray(degrees, np.float64))
    cos, sin = np.cos(a), np.sin(a)
    return np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)


def warp_digits(digits: np.ndarray, matrices: np.ndarray, displacements: np.ndarray | None = None,
                chunk: int = _WARPED_AT_ONCE) -> np.ndarray:
    """Digits ``(n, 28, 28)`` uint8 read through ``matrices`` ``(n, 2, 2)`` about the patch centre, each
    pixel moved further by ``displacements`` ``(n, 2, 28, 28)`` if given (:meth:`DigitAugment.displacements`),
    with bilinear interpolation; whatever falls outside the original is 0. Returns uint8 ``(n, 28, 28)``."""
    digits, matrices = np.asarray(digits), np.asarray(matrices, np.float64)
    if digits.ndim != 3 or digits.shape[1:] != (PATCH, PATCH) or matrices.shape != (len(digits), 2, 2):
        raise ValueError(f"need digits (n, {PATCH}, {PATCH}) and matrices (n, 2, 2), "
                         f"got {digits.shape} and {matrices.shape}.")
    if displacements is not None and np.shape(displacements) != (len(digits), 2, PATCH, PATCH):
        raise ValueError(f"need displacements (n, 2, {PATCH}, {PATCH}) for n={len(digits)} digits, "
                         f"got {np.shape(displacements)}.")
    grid = np.arange(PATCH, dtype=np.float32) - _CENTRE
    oy, ox = np.repeat(grid, PATCH), np.tile(grid, PATCH)  # each output pixel's offset from the centre
    side = PATCH + 2
    padded = np.pad(digits, ((0, 0), (1, 1), (1, 1))).astype(np.float32).ravel()
    m = matrices.astype(np.float32)[..., None]  # (n, 2, 2, 1)
    out = np.empty(digits.shape, np.uint8)
    for lo in range(0, len(digits), chunk):
        mc = m[lo: lo + chunk]
        # where each output pixel reads, in the padded frame, kept inside it (the border is 0)
        sy = mc[:, 0, 0] * oy + mc[:, 0, 1] * ox + (_CENTRE + 1)
        sx = mc[:, 1, 0] * oy + mc[:, 1, 1] * ox + (_CENTRE + 1)
        if displacements is not None:
            moved = np.asarray(displacements[lo: lo + chunk], np.float32).reshape(len(mc), 2, PATCH * PATCH)
            sy, sx = sy + moved[:, 0], sx + moved[:, 1]
        sy, sx = np.clip(sy, 0, side - 1.001), np.clip(sx, 0, side - 1.001)
        ty, tx = np.floor(sy), np.floor(sx)
        fy, fx = sy - ty, sx - tx
        base = ty.astype(np.int64) * side + tx.astype(np.int64)
        base += (np.arange(lo, lo + len(mc)) * side * side)[:, None]
        top = padded[base] * (1 - fx) + padded[base + 1] * fx
        bottom = padded[base + side] * (1 - fx) + padded[base + side + 1] * fx
        out[lo: lo + chunk] = np.rint(top * (1 - fy) + bottom * fy).reshape(-1, PATCH, PATCH).astype(np.uint8)
    return out


def augmented_pools(pools: Pools, augment: DigitAugment) -> Pools:
    """``pools`` with ``augment.copies`` warped copies of every digit after the originals; the labels
    and ``digit_ids`` follow their digits, and ``digit_source`` says how the pool was made."""
    rng = np.random.default_rng(augment.seed)
    n = len(pools.digits)
    source = np.tile(np.arange(n), augment.copies)
    matrices = augment.matrices(len(source), rng)
    warped = np.empty((len(source), PATCH, PATCH), np.uint8)
    for lo in range(0, len(source), _WARPED_AT_ONCE):
        part = slice(lo, lo + _WARPED_AT_ONCE)
        # elastic fields are drawn after the affine warps, so those stay the same seed's without them
        fields = augment.displacements(len(warped[part]), rng) if augment.elastic > 0 else None
        warped[part] = warp_digits(pools.digits[source[part]], matrices[part], fields)
    return dataclasses.replace(
        pools, digits=np.concatenate([pools.digits, warped]), labels=np.tile(pools.labels, augment.copies + 1),
        digit_ids=np.tile(pools.digit_ids, augment.copies + 1),
        digit_source=f"{pools.digit_source} and {augment.copies} warped copies of each ({augment})")


#: How :func:`turned_clutter` turns the clothes: the four flips a training run may use
#: (:func:`flipped_clutter`), then the four it never sees (a transpose, its turns, its mirror image).
CLUTTER_TURNS = ("as they are", "mirrored", "upside down", "half-turned",
                 "transposed", "turned clockwise", "turned anticlockwise", "anti-transposed")
FLIPS = CLUTTER_TURNS[:4]


def turned_clutter(clutter: np.ndarray, how: str) -> np.ndarray:
    """The ``(M, 28, 28)`` clothes turned as ``how`` (one of :data:`CLUTTER_TURNS`) says.

    >>> c = np.arange(4, dtype=np.uint8).reshape(1, 2, 2)
    >>> [turned_clutter(c, how)[0].ravel().tolist() for how in CLUTTER_TURNS]
    [[0, 1, 2, 3], [1, 0, 3, 2], [2, 3, 0, 1], [3, 2, 1, 0], [0, 2, 1, 3], [2, 0, 3, 1], [1, 3, 0, 2], [3, 1, 2, 0]]
    """
    if how not in CLUTTER_TURNS:
        raise ValueError(f"how={how!r} is invalid: it must be one of {', '.join(map(repr, CLUTTER_TURNS))}.")
    turn = CLUTTER_TURNS.index(how)
    c = clutter.transpose(0, 2, 1) if turn >= 4 else clutter
    c = c[:, :, ::-1] if turn % 2 else c
    c = c[:, ::-1] if turn % 4 >= 2 else c
    return np.ascontiguousarray(c)


def flipped_clutter(pools: Pools) -> Pools:
    """``pools`` with every piece of clothing also mirrored, upside down and half-turned (4× the clutter).

    A detector trained for long on the same 60,000 clothes learns *them*, not what a digit looks like: before
    its fifth stage, the shipped one found 129 digits that were not there in 5,000 validation canvases with
    the clothes turned anticlockwise (notebook 09). The transposed turns are left out, so that validation
    canvases with transposed clothes (:func:`turned_clutter`) stay unseen.
    """
    clutter = np.concatenate([turned_clutter(pools.clutter, how) for how in FLIPS])
    return dataclasses.replace(pools, clutter=clutter, clutter_source=f"{pools.clutter_source}, each {', '.join(FLIPS)}")


def turned_pools(pools: Pools, how: str) -> Pools:
    """``pools`` with the clothes turned as ``how`` says (:func:`turned_clutter`): validation canvases with
    clothes in a shape no training run saw, a test of what the detector has learned a digit looks like."""
    return dataclasses.replace(pools, clutter=turned_clutter(pools.clutter, how),
                               clutter_source=f"{pools.clutter_source}, {how}")
