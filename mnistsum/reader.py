"""A second reader for the detector (notebook 09): *which* digit sits in a window, never *whether* one does.

Most of the detector's remaining mistakes are digits read wrongly. A reader is the detector's body
(:func:`~mnistsum.detector.window_features`), wider, with a 10-way softmax: slid over a canvas it gives
every window of the detector's grid the probability of each digit. It is trained on whole canvases,
only on the cells that hold a digit (:func:`~mnistsum.grid.reader_targets`), and on warped copies of the
training digits (:mod:`mnistsum.augment`) as well as the plain ones, so that it learns the shapes of
digits rather than the 50,000 training digits themselves. Its opinion joins the detector's through
:func:`mnistsum.second_opinion.with_second_opinion`, as notebook 06's classifier does. A reader may have a
body unlike the detector's instead (``body="strided"``, :func:`strided_features`), so that an ensemble's
members err on different digits.

>>> reader = build_reader(width=8)
>>> tuple(reader(np.zeros((1, 128, 128, 1), np.float32)).shape)
(1, 26, 26, 10)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import keras
import numpy as np

from mnistsum.augment import DigitAugment
from mnistsum.detector import window_features
from mnistsum.generator import CanvasBatch, CanvasConfig, generate, iter_batches
from mnistsum.grid import BACKGROUND, STRIDE

READER = "reader"  #: the model's name, and its shipped name


def strided_features(inputs, width: int = 32):
    """A reader's body built unlike the detector's, so that its mistakes differ: ``4 * width`` features of
    every 28×28 window at a stride of 4 pixels, from 5×5 convolutions of stride 2 where the detector max-pools
    (after C. Deotte's Kaggle recipe for MNIST, 2018), with batch norm and dropout 0.4 after each half
    (28 -> 26 -> 24 -> 10 -> 8 -> 6 -> 1).

    >>> tuple(keras.Model(i := keras.Input((28, 28, 1)), strided_features(i, 4)).output_shape)
    (None, 1, 1, 16)
    """
    x = inputs
    layers = ((width, 3, 1), (width, 3, 1), (width, 5, 2), (2 * width, 3, 1), (2 * width, 3, 1),
              (2 * width, 5, 2), (4 * width, 1, 1))
    for i, (filters, size, stride) in enumerate(layers):
        x = keras.layers.Conv2D(filters, size, strides=stride, use_bias=False, name=f"conv{i + 1}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{i + 1}")(x)
        x = keras.layers.ReLU(name=f"relu{i + 1}")(x)
        if stride == 2:
            x = keras.layers.Dropout(0.4, name=f"dropout{i + 1}")(x)
    return x


#: The bodies a reader may have, each with the dropout before its softmax: the detector's
#: (:func:`~mnistsum.detector.window_features`), or :func:`strided_features`.
BODIES = {"detector": (window_features, 0.3), "strided": (strided_features, 0.4)}


def build_reader(width: int = 64, learning_rate: float = 1e-3, body: str = "detector") -> keras.Model:
    """The reader: any canvas in, ``(H', W', 10)`` digit probabilities out, one per detector cell; ``body``
    is one of :data:`BODIES`."""
    if body not in BODIES:
        raise ValueError(f"unknown reader body {body!r}: choose one of {', '.join(BODIES)}.")
    inputs = keras.Input((None, None, 1), name="canvas")
    features, dropout = BODIES[body]
    x = keras.layers.Dropout(dropout, name="dropout")(features(inputs, width))
    outputs = keras.layers.Conv2D(BACKGROUND, 1, activation="softmax", name="digits")(x)
    model = keras.Model(inputs, outputs, name=READER)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  weighted_metrics=["accuracy"])  # over the digit cells alone
    return model


def ensemble(readers: list[keras.Model]) -> keras.Model:
    """One reader that averages the probabilities of ``readers`` (readers made by :func:`build_reader`, or
    ensembles, whose members join one by one): readers trained apart make different mistakes."""
    members = [member for reader in readers for member in ensemble_members(reader)]
    if len(members) < 2:
        raise ValueError(f"an ensemble needs at least two readers, got {len(members)}.")
    inputs = keras.Input((None, None, 1), name="canvas")
    outputs = [keras.Model(m.input, m.output, name=f"member{i + 1}")(inputs) for i, m in enumerate(members)]
    return keras.Model(inputs, keras.layers.Average(name="mean")(outputs), name=READER)


def ensemble_members(reader: keras.Model) -> list[keras.Model]:
    """The readers that ``reader`` averages: itself, unless it is an :func:`ensemble`."""
    members = [layer for layer in reader.layers if isinstance(layer, keras.Model)]
    return members or [reader]


#: What :func:`train_reader_for` counts in ``windows`` mode: one 28×28 window per digit, not whole canvases.
WINDOWS_UNIT = "digit windows"


def train_reader_for(model: keras.Model, seconds: float, learning_rate: float = 1e-3, batch_size: int = 256,
                     images_per_epoch: int = 200_000, seed: int = 1, workers: int = 1, val_images: int = 2_000,
                     augment: DigitAugment | None = DigitAugment(), windows: bool = False,
                     log=print) -> dict[str, list[float]]:
    """Train a reader for ``seconds`` of wall time (:func:`~mnistsum.timed.train_for`, a cosine over the
    clock) on fresh ``train`` canvases of stream ``seed + 2000`` made by ``workers`` processes, their digits
    drawn from ``augment``'s pool (``None``: the plain digits). ``val_images`` fixed ``val`` canvases
    (stream ``seed + 2001``) are scored every ``images_per_epoch`` canvases; the history's ``accuracy``
    and ``val_accuracy`` are the shares of digit cells read right.

    With ``windows``, each batch is instead the digit windows (:func:`digit_windows`) of ``batch_size``
    canvases, made in this process, and the history counts windows. A whole canvas is mostly cells that
    teach a reader nothing: on 2 CPU cores a width-32 reader learns from about 1,900 digit windows a
    second, against about 310 digits a second (62 canvases) on whole canvases.
    """
    from mnistsum.feed import canvas_batches, fixed_batches
    from mnistsum.grid import reader_targets
    from mnistsum.timed import Stage, train_for

    if windows and workers != 1:
        raise ValueError(f"workers={workers}: digit windows are cut in the training process (a batch of them "
                         "takes milliseconds); give workers=1, or train on whole canvases.")
    if windows:
        stage = Stage(1.0, 1, lambda: digit_windows(seed + 2000, batch_size, augment))
    else:
        stage = Stage(1.0, 1, lambda: canvas_batches(CanvasConfig(split="train"), seed + 2000, batch_size,
                                                     reader_targets, workers, augment=augment))
    val = fixed_batches(CanvasConfig(split="val"), seed + 2001, val_images, batch_size, reader_targets)
    return train_for(model, seconds, learning_rate, [stage], val, images_per_epoch, batch_size, log)


def digit_windows(seed: int, canvases: int, augment: DigitAugment | None = None
                  ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless batches ``(windows (M, 28, 28, 1), digits (M, 1, 1))``: one window per digit of ``canvases``
    fresh ``train`` canvases of stream ``seed`` (batch *k* holds canvases ``[k·canvases, (k+1)·canvases)``),
    shifted by up to :data:`~mnistsum.grid.POSITIVE_SHIFT` pixels as the detector's digit cells are, the
    shifts drawn from a generator seeded by ``(seed, k)``.

    >>> x, y = next(digit_windows(seed=0, canvases=2))
    >>> x.shape[1:], y.shape[1:], len(x) == len(y) <= 10
    ((28, 28, 1), (1, 1), True)
    """
    from mnistsum.detector import windows_from
    from mnistsum.feed import training_pools

    pools = training_pools("train", augment)
    config = CanvasConfig(split="train")
    for k in itertools.count():
        batch = generate(config, seed, np.arange(k * canvases, (k + 1) * canvases), pools)
        yield windows_from(batch, np.random.default_rng([seed, k]), hard_negatives=0, random_windows=0)


def read_at_digits(model: keras.Model, batch: CanvasBatch) -> np.ndarray:
    """The reader's digit at the grid cell nearest each true digit of ``batch`` ``(N, D)``; -1 where the
    slot holds no digit."""
    grid = model.predict(batch.images, batch_size=64, verbose=0).argmax(-1)  # (N, G, G)
    last = grid.shape[1] - 1
    cy = np.clip(np.rint(batch.boxes[..., 1] / STRIDE), 0, last).astype(np.int64)
    cx = np.clip(np.rint(batch.boxes[..., 0] / STRIDE), 0, last).astype(np.int64)
    read = grid[np.arange(len(batch))[:, None], cy, cx]
    return np.where(batch.digits >= 0, read, -1)


def reading_accuracy(model: keras.Model, n: int, batch_size: int = 256) -> dict:
    """The share of the digits on the first ``n`` benchmark canvases that the reader reads right at their
    nearest cell, with the number of digits."""
    from mnistsum.benchmark import BENCHMARK_CONFIG, BENCHMARK_SEED

    right = total = 0
    for batch in iter_batches(BENCHMARK_CONFIG, BENCHMARK_SEED, n, batch_size):
        real = batch.digits >= 0
        right += int((read_at_digits(model, batch)[real] == batch.digits[real]).sum())
        total += int(real.sum())
    return {"digit_accuracy": right / total, "digits": total,
            "benchmark": {"split": "test", "seed": BENCHMARK_SEED, "n": n}}
