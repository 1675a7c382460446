"""Reading each found digit where its ink is (notebook 09, section 6).

The detector and the reader answer for windows every :data:`~mnistsum.grid.STRIDE` pixels, so a digit is
read through a window up to 2 pixels off its own 28×28 patch. MNIST centred every digit's centre of mass in
its patch (at pixel 14.0 each way, over the 50,000 training digits, with a spread of 0.29), so the ink
itself says where the patch is: :func:`ink_corners` moves each found digit's window until the ink's
centre of mass sits at :data:`INK_CENTRE`. The reader then reads that window, as it is and scaled by each
of :data:`SCALES` about its centre (:func:`scaled_windows`), and :func:`aligned_opinion` puts the
geometric mean of those readings in the cell of the grid where the digit was found. :class:`AlignedVote`
is ``best`` with this opinion: the detector finds the digits, and votes on each with the reader
(:class:`~mnistsum.second_opinion.Vote`).

>>> canvas = np.full((1, 64, 64, 1), 0.1, np.float32)
>>> canvas[0, 20:29, 30:35] = 0.9  # a blot whose centre of mass is at (24, 32)
>>> ink_corners(canvas, np.array([0]), np.array([[8, 16]])).tolist()  # the window the grid found
[[10, 18]]
"""

from __future__ import annotations

import keras
import numpy as np

from mnistsum.detector import BACKGROUND, PATCH, decode
from mnistsum.generator import CanvasConfig
from mnistsum.grid import STRIDE

INK_CENTRE = 14.0  #: where MNIST put each digit's centre of mass in its 28×28 patch, each way
SCALES = (1.0, 0.92, 1.08)  #: the reader reads each window as it is and scaled by these (chosen on validation)
MARGIN = 2  #: pixels of each window's border left out of the centre of mass (a neighbour's ink may be there)


def ink_corners(images: np.ndarray, index: np.ndarray, corners: np.ndarray, iterations: int = 3,
                threshold: float = CanvasConfig.noise) -> np.ndarray:
    """Top-left corners ``(M, 2)`` (y, x) of the 28×28 windows of ``images`` ``(N, H, W, 1)`` whose ink's centre
    of mass is at :data:`INK_CENTRE`, found from ``corners`` ``(M, 2)`` in image ``index`` ``(M,)``.

    Ink is what a pixel has above ``threshold`` (the canvas's noise never exceeds it); the centre of mass is
    taken over the window less :data:`MARGIN` pixels each side, and the window moved to it ``iterations``
    times, whole pixels at a time, always inside the image.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 1:
        raise ValueError(f"images must have shape (N, H, W, 1), got {images.shape}.")
    index, corners = np.asarray(index), np.asarray(corners)
    if corners.shape != (len(index), 2):
        raise ValueError(f"need corners (M, 2) for M={len(index)} indices, got {corners.shape}.")
    limit = np.array(images.shape[1:3]) - PATCH
    if (limit < 0).any():
        raise ValueError(f"images {images.shape[1:3]} are smaller than a {PATCH}x{PATCH} window.")
    offsets = np.arange(MARGIN, PATCH - MARGIN)
    corners = np.clip(corners, 0, limit).astype(np.int64)
    for _ in range(iterations):
        rows = (corners[:, 0, None] + offsets)[:, :, None]
        cols = (corners[:, 1, None] + offsets)[:, None, :]
        ink = np.maximum(images[index[:, None, None], rows, cols, 0].astype(np.float64) - threshold, 0.0)
        mass = ink.sum((1, 2))[:, None]
        centre = np.stack([ink.sum(2) @ offsets, ink.sum(1) @ offsets], -1) / np.maximum(mass, 1e-12)
        moved = np.where(mass > 0, np.rint(centre - INK_CENTRE), 0).astype(np.int64)  # no ink: stay
        corners = np.clip(corners + moved, 0, limit)
    return corners


def scaled_windows(images: np.ndarray, index: np.ndarray, corners: np.ndarray,
                   scales: tuple[float, ...] = SCALES) -> np.ndarray:
    """The 28×28 windows ``(M, len(scales), 28, 28, 1)`` at ``corners`` ``(M, 2)`` (y, x) of images ``index``,
    each magnified by every one of ``scales`` about the window's centre (bilinear; pixels beyond the image's
    edge repeat it). Scale 1 gives the window itself.

    >>> images = np.arange(64 * 64, dtype=np.float32).reshape(1, 64, 64, 1)
    >>> w = scaled_windows(images, np.array([0]), np.array([[3, 5]]), (1.0, 2.0))
    >>> w.shape, bool((w[0, 0, ..., 0] == images[0, 3:31, 5:33, 0]).all())
    ((1, 2, 28, 28, 1), True)
    """
    images, index, corners = np.asarray(images), np.asarray(index), np.asarray(corners)
    if any(s <= 0 for s in scales):
        raise ValueError(f"scales={scales} are invalid: each must be > 0.")
    height, width = images.shape[1:3]
    centre = (PATCH - 1) / 2
    out = np.empty((len(index), len(scales), PATCH, PATCH, 1), np.float32)
    for k, scale in enumerate(scales):
        along = centre + (np.arange(PATCH) - centre) / scale  # where each output pixel reads, in the window
        low = np.floor(along).astype(np.int64)
        frac = (along - low).astype(np.float32)
        ys = [np.clip(corners[:, 0, None] + low + d, 0, height - 1)[:, :, None] for d in (0, 1)]
        xs = [np.clip(corners[:, 1, None] + low + d, 0, width - 1)[:, None, :] for d in (0, 1)]
        fy, fx = frac[:, None], frac[None, :]
        at = lambda y, x: images[index[:, None, None], y, x, 0]
        top = at(ys[0], xs[0]) * (1 - fx) + at(ys[0], xs[1]) * fx
        bottom = at(ys[1], xs[0]) * (1 - fx) + at(ys[1], xs[1]) * fx
        out[:, k, ..., 0] = top * (1 - fy) + bottom * fy
    return out


def aligned_opinion(detector_grids: np.ndarray, images: np.ndarray, reader: keras.Model,
                    scales: tuple[float, ...] = SCALES, batch_size: int = 512) -> np.ndarray:
    """A second opinion's grid ``(N, H, W, 10)`` for :class:`~mnistsum.second_opinion.Vote`: at each digit that
    ``detector_grids`` find (:func:`~mnistsum.detector.decode`), the reader's reading of the window where the
    digit's ink is (the geometric mean over ``scales``); everywhere else no opinion (0.1 for every digit)."""
    grids = np.asarray(detector_grids)
    found = decode(grids)
    n, slot = np.nonzero(found.digits >= 0)
    opinion = np.full(grids.shape[:-1] + (BACKGROUND,), 1.0 / BACKGROUND, np.float32)
    if len(n) == 0:
        return opinion
    cells = found.boxes[n, slot][:, 1::-1]  # (y0, x0) of the cell's window
    windows = scaled_windows(images, n, ink_corners(images, n, cells), scales)
    p = reader.predict(windows.reshape(-1, PATCH, PATCH, 1), batch_size=batch_size, verbose=0)
    log_p = np.log(p.reshape(len(n), len(scales), BACKGROUND) + 1e-7).mean(1)
    mean = np.exp(log_p - log_p.max(-1, keepdims=True))
    opinion[n, cells[:, 0] // STRIDE, cells[:, 1] // STRIDE] = mean / mean.sum(-1, keepdims=True)
    return opinion


class AlignedVote:
    """``best`` with a second opinion read where each digit's ink is: canvases in, the detector's grid out
    (``predict`` mirrors Keras's), the digit probabilities of every found digit voted on by ``reader``
    (:func:`aligned_opinion`) with ``weight`` (:class:`~mnistsum.second_opinion.Vote`). Whether a digit is
    there stays the detector's call, so :func:`~mnistsum.detector.decode` finds the same digits in it."""

    name = "detector_with_aligned_reader"

    def __init__(self, detector: keras.Model, reader: keras.Model, weight: float,
                 scales: tuple[float, ...] = SCALES):
        from mnistsum.second_opinion import Vote

        self.detector, self.reader, self.scales = detector, reader, tuple(scales)
        self.vote = Vote(weight)

    @property
    def weight(self) -> float:
        return self.vote.weight

    def predict(self, images: np.ndarray, batch_size: int = 64, verbose: int = 0) -> np.ndarray:
        grids = self.detector.predict(images, batch_size=batch_size, verbose=verbose)
        opinion = aligned_opinion(grids, images, self.reader, self.scales)
        return keras.ops.convert_to_numpy(self.vote(grids, opinion))

    def count_params(self) -> int:
        return self.detector.count_params() + self.reader.count_params()

    def save(self, path) -> None:
        """Save the detector alone, as :func:`mnistsum.zoo.ship` does: the reader is saved on its own, and the
        weight belongs in the record."""
        self.detector.save(path)
