"""Digit augmentation for training canvases: the same MNIST digits, slightly turned, scaled and sheared.

A model that has seen the 50,000 training digits millions of times learns them by heart (notebook 09's
detector ends with a training loss ten times below its validation loss). The classic remedy for MNIST
is to train on small random affine warps of the digits. :func:`augmented_pools` adds ``copies`` warped
variants of every digit of a split's pool; the generator then draws from the larger pool, so canvases
are made exactly as before, with more varied digits. It is for training only: the validation and
benchmark canvases keep the plain MNIST digits.

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


@dataclass(frozen=True)
class DigitAugment:
    """How many warped copies of each digit to add, and how far each warp may go (uniform in ``±``):
    ``rotation`` in degrees, ``scale`` as a share of the size, ``shear`` as a slope. ``seed`` fixes the warps."""

    copies: int = 8
    rotation: float = 12.0
    scale: float = 0.12
    shear: float = 0.25
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.copies, bool) or not isinstance(self.copies, int) or not 1 <= self.copies <= 64:
            raise ValueError(f"DigitAugment.copies={self.copies!r} is invalid: it must be an integer in [1, 64].")
        for field, high in (("rotation", 45.0), ("scale", 0.5), ("shear", 1.0)):
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= high:
                raise ValueError(f"DigitAugment.{field}={value!r} is invalid: it must be a number in [0, {high:g}].")

    def matrices(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` random warps ``(n, 2, 2)``: each maps an output pixel's offset from the centre to where
        it is read in the original digit."""
        turn = rotation_matrices(rng.uniform(-self.rotation, self.rotation, n))
        size = 1.0 + rng.uniform(-self.scale, self.scale, (n, 2))  # each axis its own scale
        shear = np.eye(2) + np.einsum("n,ij->nij", rng.uniform(-self.shear, self.shear, n), [[0, 1], [0, 0]])
        return np.linalg.inv(turn @ shear * size[:, :, None])  # read where the forward warp came from


def rotation_matrices(degrees: np.ndarray) -> np.ndarray:
    """``(n, 2, 2)`` rotations by ``degrees`` (counter-clockwise on screen), acting on ``(y, x)`` offsets."""
    a = np.deg2rad(np.asarray(degrees, np.float64))
    cos, sin = np.cos(a), np.sin(a)
    return np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)


def warp_digits(digits: np.ndarray, matrices: np.ndarray, chunk: int = 8_192) -> np.ndarray:
    """Digits ``(n, 28, 28)`` uint8 read through ``matrices`` ``(n, 2, 2)`` about the patch centre, with
    bilinear interpolation; whatever falls outside the original is 0. Returns uint8 ``(n, 28, 28)``."""
    digits, matrices = np.asarray(digits), np.asarray(matrices, np.float64)
    if digits.ndim != 3 or digits.shape[1:] != (PATCH, PATCH) or matrices.shape != (len(digits), 2, 2):
        raise ValueError(f"need digits (n, {PATCH}, {PATCH}) and matrices (n, 2, 2), "
                         f"got {digits.shape} and {matrices.shape}.")
    grid = np.arange(PATCH, dtype=np.float32) - _CENTRE
    oy, ox = np.repeat(grid, PATCH), np.tile(grid, PATCH)  # each output pixel's offset from the centre
    side = PATCH + 2
    padded = np.pad(digits, ((0, 0), (1, 1), (1, 1))).astype(np.float32).ravel()
    m = matrices.astype(np.float32)[..., None]  # (n, 2, 2, 1)
    out = np.empty(digits.shape, np.uint8)
    for lo in range(0, len(digits), chunk):
        mc = m[lo: lo + chunk]
        # where each output pixel reads, in the padded frame, kept inside it (the border is 0)
        sy = np.clip(mc[:, 0, 0] * oy + mc[:, 0, 1] * ox + (_CENTRE + 1), 0, side - 1.001)
        sx = np.clip(mc[:, 1, 0] * oy + mc[:, 1, 1] * ox + (_CENTRE + 1), 0, side - 1.001)
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
    warped = warp_digits(pools.digits[source], augment.matrices(len(source), rng))
    return dataclasses.replace(
        pools, digits=np.concatenate([pools.digits, warped]), labels=np.tile(pools.labels, augment.copies + 1),
        digit_ids=np.tile(pools.digit_ids, augment.copies + 1),
        digit_source=f"{pools.digit_source} and {augment.copies} warped copies of each ({augment})")
