"""What each cell of the detector's output grid means, and its training labels (numpy only, no Keras).

The detector (:mod:`mnistsum.detector`) answers, for every 28×28 window of a canvas at a
stride of :data:`STRIDE` pixels, "background" or which digit sits in it. This module holds
that labelling rule, apart from the model, so that worker processes which make training
batches (:mod:`mnistsum.feed`) need not import Keras.
"""

from __future__ import annotations

import numpy as np

from mnistsum.generator import PATCH, CanvasBatch

BACKGROUND = 10  #: class index of "no digit here"
N_CLASSES = 11
STRIDE = 4  #: pixels between neighbouring cells of the output grid
POSITIVE_SHIFT = 2  #: a digit at most this far (each axis) from the window is that digit
NEGATIVE_SHIFT = 4  #: windows at least this far from every digit are background
NMS_CELLS = 3  #: non-maximum suppression looks this many cells each way


def window_labels(batch: CanvasBatch, canvas: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Label of the window at top-left ``(y, x)`` of canvas ``canvas``: digit, background, or -1 (left out)."""
    bx, by = batch.boxes[canvas, :, 0], batch.boxes[canvas, :, 1]  # (M, max_digits)
    present = batch.digits[canvas] >= 0
    shift = np.maximum(np.abs(by - y[:, None]), np.abs(bx - x[:, None]))
    shift = np.where(present, shift, np.iinfo(np.int32).max)
    nearest = shift.argmin(axis=1)
    distance = shift[np.arange(len(canvas)), nearest]
    digit = batch.digits[canvas, nearest]
    return np.where(distance <= POSITIVE_SHIFT, digit, np.where(distance >= NEGATIVE_SHIFT, BACKGROUND, -1))


def grid_labels(batch: CanvasBatch) -> np.ndarray:
    """The label of every cell of the canvases' output grid ``(B, G, G)``: digit, background or -1 (left out).

    Cell ``(cy, cx)`` is the window with top-left ``(STRIDE * cy, STRIDE * cx)``, labelled by the
    same rule as the training windows of :func:`mnistsum.detector.windows_from`.
    """
    n, size = len(batch), batch.images.shape[1]
    cells = (size - PATCH) // STRIDE + 1
    cy, cx = np.divmod(np.arange(cells * cells), cells)
    canvas = np.repeat(np.arange(n), cells * cells)
    labels = window_labels(batch, canvas, np.tile(cy * STRIDE, n), np.tile(cx * STRIDE, n))
    return labels.reshape(n, cells, cells).astype(np.int32)


def grid_targets(batch: CanvasBatch) -> tuple[np.ndarray, np.ndarray]:
    """What the detector learns from a batch: every cell's label (a left-out cell gets 0) and its weight
    (0 for a left-out cell, else 1)."""
    labels = grid_labels(batch)
    return np.maximum(labels, 0), (labels >= 0).astype(np.float32)


def reader_targets(batch: CanvasBatch) -> tuple[np.ndarray, np.ndarray]:
    """What a reader (:mod:`mnistsum.reader`) learns from a batch: the digit of every cell that holds one
    (weight 1); background and left-out cells get label 0 and weight 0, since whether a digit is
    there is the detector's call."""
    labels = grid_labels(batch)
    digit = (labels >= 0) & (labels < BACKGROUND)
    return np.where(digit, labels, 0), digit.astype(np.float32)
