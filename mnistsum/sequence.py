"""Multi-digit sequence read-out: one softmax head per position (notebook 07).

Each of ``MAX_DIGITS`` heads answers "which digit is at position *k*?" with 11
classes: the ten digits and :data:`BLANK` for "no digit here". Two tasks:

* the classic one: up to 5 MNIST digits side by side in a 28×140 *strip*,
  blanks filling the tail (:func:`make_strips`);
* the cluttered canvas: the generator's digits read left to right
  (:func:`reading_order_targets`), and the sum is the sum of the heads.

>>> digits = np.zeros((3, 28, 28), np.uint8); labels = np.array([4, 7, 9])
>>> strips, targets = make_strips(digits, labels, n=2, seed=0)
>>> strips.shape, targets.shape
((2, 28, 140, 1), (2, 5))
"""

from __future__ import annotations

import keras
import numpy as np

from mnistsum.generator import PATCH, CanvasBatch

MAX_DIGITS = 5
BLANK = 10
N_CLASSES = 11


def make_strips(digits: np.ndarray, labels: np.ndarray, n: int, seed: int, min_len: int = 1,
                max_len: int = MAX_DIGITS) -> tuple[np.ndarray, np.ndarray]:
    """``n`` strips of ``min_len..max_len`` random digits from ``digits`` (uint8 ``(M, 28, 28)``).

    Returns float32 strips ``(n, 28, 28 * MAX_DIGITS, 1)`` in [0, 1], digits left-aligned,
    and targets ``(n, MAX_DIGITS)`` with :data:`BLANK` after the last digit.
    """
    if not 0 <= min_len <= max_len <= MAX_DIGITS:
        raise ValueError(f"need 0 <= min_len <= max_len <= {MAX_DIGITS}, got min_len={min_len}, max_len={max_len}.")
    if n < 0:
        raise ValueError(f"n={n}: ask for a non-negative number of strips.")
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_len, max_len + 1, n)
    picks = rng.integers(0, len(digits), (n, MAX_DIGITS))
    present = np.arange(MAX_DIGITS) < lengths[:, None]
    patches = np.where(present[..., None, None], digits[picks], 0)  # (n, 5, 28, 28)
    strips = patches.transpose(0, 2, 1, 3).reshape(n, PATCH, PATCH * MAX_DIGITS)
    targets = np.where(present, labels[picks], BLANK).astype(np.int32)
    return (strips.astype(np.float32) / 255.0)[..., None], targets


def reading_order_targets(batch: CanvasBatch) -> np.ndarray:
    """The canvas's digits sorted left to right (by ``x0``, then ``y0``), :data:`BLANK` padded.

    >>> from mnistsum.generator import CanvasConfig, generate
    >>> b = generate(CanvasConfig(split="test"), seed=0, indices=[0])
    >>> t = reading_order_targets(b)
    >>> sorted(t[0][t[0] != BLANK].tolist()) == sorted(b.digits[0][b.digits[0] >= 0].tolist())
    True
    """
    if batch.digits.shape[1] > MAX_DIGITS:
        raise ValueError(f"the canvases hold up to {batch.digits.shape[1]} digits; the heads read {MAX_DIGITS}.")
    present = batch.digits >= 0
    big = np.iinfo(np.int32).max
    key = np.where(present, batch.boxes[..., 0].astype(np.int64) * 4096 + batch.boxes[..., 1], big)
    order = np.argsort(key, axis=1, kind="stable")
    digits = np.take_along_axis(np.where(present, batch.digits, BLANK), order, axis=1)
    out = np.full((len(batch), MAX_DIGITS), BLANK, np.int32)
    out[:, : digits.shape[1]] = digits
    return out


#: Filters of the conv blocks: three for 28×140 strips, four for 128×128 canvases.
STRIP_FILTERS = (16, 32, 64)
CANVAS_FILTERS = (16, 32, 64, 128)


def _backbone(input_shape: tuple[int, int, int], filters: tuple[int, ...], dense: int):
    """Conv(3×3)+BatchNorm+ReLU+MaxPool blocks, Flatten, Dropout 0.3, Dense(``dense``, ReLU)."""
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for i, f in enumerate(filters, 1):
        x = keras.layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(0.3, name="dropout")(x)
    return inputs, keras.layers.Dense(dense, activation="relu", name="dense")(x)


def build_sequence_model(input_shape: tuple[int, int, int], filters: tuple[int, ...] = STRIP_FILTERS,
                         dense: int = 128, learning_rate: float = 1e-3) -> keras.Model:
    """Conv+pool blocks, a dense layer, then ``MAX_DIGITS`` softmax heads of 11 classes.

    The heads are stacked into one output ``(batch, MAX_DIGITS, 11)``, so one sparse
    cross-entropy trains them all (its mean is the mean of the heads' losses).

    >>> build_sequence_model((28, 140, 1)).output.shape
    (None, 5, 11)
    """
    inputs, x = _backbone(input_shape, filters, dense)
    heads = [keras.layers.Reshape((1, N_CLASSES), name=f"slot{k + 1}")(
        keras.layers.Dense(N_CLASSES, activation="softmax", name=f"head{k + 1}")(x)) for k in range(MAX_DIGITS)]
    outputs = keras.layers.Concatenate(axis=1, name="positions")(heads)
    model = keras.Model(inputs, outputs, name="sequence")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def build_sum_regressor(input_shape: tuple[int, int, int], filters: tuple[int, ...] = STRIP_FILTERS,
                        dense: int = 128, learning_rate: float = 1e-3) -> keras.Model:
    """The same backbone with one ReLU output trained with MSE on the sum: the baseline's way.

    >>> build_sum_regressor((28, 140, 1)).output.shape
    (None, 1)
    """
    from mnistsum.metrics import SumAccuracy

    inputs, x = _backbone(input_shape, filters, dense)
    outputs = keras.layers.Dense(1, activation="relu", name="sum")(x)
    model = keras.Model(inputs, outputs, name="sum_regressor")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse", metrics=[SumAccuracy()])
    return model


def read(probabilities: np.ndarray) -> np.ndarray:
    """The most likely class of every head: ``(N, MAX_DIGITS)``, :data:`BLANK` for none."""
    return np.asarray(probabilities).argmax(axis=-1)


def sums_of(sequences: np.ndarray) -> np.ndarray:
    """Sum of the digits in read-outs ``(N, MAX_DIGITS)``, blanks counting 0.

    >>> sums_of(np.array([[3, 4, BLANK, BLANK, BLANK]])).tolist()
    [7]
    """
    sequences = np.asarray(sequences)
    return np.where(sequences == BLANK, 0, sequences).sum(axis=1)


def sequence_accuracy(targets: np.ndarray, predicted: np.ndarray) -> dict[str, object]:
    """Per-head accuracy and whole-sequence accuracy (every head right)."""
    targets, predicted = np.asarray(targets), np.asarray(predicted)
    if targets.shape != predicted.shape:
        raise ValueError(f"targets {targets.shape} and predictions {predicted.shape} differ in shape.")
    hits = targets == predicted
    return {"per_head": hits.mean(axis=0).tolist(), "sequence": float(hits.all(axis=1).mean())}
