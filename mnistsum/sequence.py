"""Multi-digit sequence read-out: one softmax head per position (notebook 07).

Each of ``MAX_DIGITS`` heads answers "which digit is at position *k*?" with 11
classes: the ten digits and :data:`BLANK` for "no digit here". Two tasks:

* the classic one: up to 5 MNIST digits side by side in a 28×140 *strip*,
  blanks filling the tail (:func:`make_strips`);
* the cluttered canvas: the generator's digits read left to right
  (:func:`reading_order_targets`), and the sum is the sum of the heads: of their answers
  (:func:`sums_of`), or the most likely sum of their distributions (:func:`most_likely_sums`, the
  shipped ``sequence``'s rule).

On the canvas, heads on pixels learn slowly. :func:`build_grid_reader` puts them on the grid of notebook 06's
classifier slid over the canvas (:func:`grid_inputs`), and :func:`any_order_loss` lets them name the digits in
an order of their own, since the sum does not depend on it. :func:`build_scan_reader` reads a grid column by
column, left to right, as we read a line; on the grid of notebook 09's detector, joined to it by
:func:`read_through`, it is the shipped ``sequence`` model.

>>> digits = np.zeros((3, 28, 28), np.uint8); labels = np.array([4, 7, 9])
>>> strips, targets = make_strips(digits, labels, n=2, seed=0)
>>> strips.shape, targets.shape
((2, 28, 140, 1), (2, 5))
"""

from __future__ import annotations

import itertools

import keras
import numpy as np

from mnistsum.generator import PATCH, CanvasBatch, CanvasConfig, iter_batches
from mnistsum.models import INPUT_SHAPE
from mnistsum.value_map import SumDistribution

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
    model = keras.Model(inputs, _heads(x), name="sequence")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _heads(x):
    """``MAX_DIGITS`` softmax heads of 11 classes on features ``x``, stacked into ``(batch, MAX_DIGITS, 11)``."""
    heads = [keras.layers.Reshape((1, N_CLASSES), name=f"slot{k + 1}")(
        keras.layers.Dense(N_CLASSES, activation="softmax", name=f"head{k + 1}")(x)) for k in range(MAX_DIGITS)]
    return keras.layers.Concatenate(axis=1, name="positions")(heads)


#: Every way of handing the five targets to the five heads, as one-hot matrices ``(120, head, target)``.
_PERMUTATIONS = np.eye(MAX_DIGITS, dtype=np.float32)[list(itertools.permutations(range(MAX_DIGITS)))]


def any_order_loss(targets, probabilities):
    """Cross-entropy of the heads in whichever order of the targets suits them best: ``-log p`` averaged
    over the heads, minimised over the 120 ways of handing the five targets to the five heads (the
    Hungarian matching of set-prediction models such as DETR, by brute force). The sum of the heads does
    not depend on their order, so the network may choose its own instead of learning to sort digits by ``x``.

    >>> p = np.full((1, 5, 11), 1e-9, np.float32); p[0, range(5), [3, 1, 10, 10, 10]] = 1.0
    >>> float(any_order_loss(np.array([[1, 3, 10, 10, 10]]), p)[0]) < 1e-6  # the same digits, another order
    True
    """
    log_p = keras.ops.log(keras.ops.clip(probabilities, 1e-7, 1.0))  # (B, head, class)
    onehot = keras.ops.one_hot(keras.ops.cast(targets, "int32"), N_CLASSES)  # (B, target, class)
    pairs = keras.ops.einsum("bhc,btc->bht", log_p, onehot)  # log p of head h for target t
    matched = keras.ops.einsum("bht,pht->bp", pairs, _PERMUTATIONS)  # (B, 120)
    return -keras.ops.max(matched, axis=1) / MAX_DIGITS


def grid_inputs(grid: keras.Model, config: CanvasConfig, seed: int, n: int, batch_size: int = 500,
                log: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` canvases of stream ``seed`` seen through ``grid``, a model from canvases to a grid of class
    probabilities (notebook 06's classifier slid over the canvas, :func:`mnistsum.zoo.opinion_grid`, or
    notebook 09's detector): ``(grids (n, H', W', classes) float32, reading-order targets (n, MAX_DIGITS),
    sums (n,))``. The grids hold log-probabilities, or with ``log=False`` the probabilities themselves. Made a
    batch at a time, so the canvases themselves are never all in memory.
    """
    if n < 1:
        raise ValueError(f"n={n}: ask for at least one canvas.")
    grids, targets, sums = [], [], []
    for batch in iter_batches(config, seed, n, batch_size):
        probabilities = grid.predict(batch.images, batch_size=100, verbose=0)
        grids.append((np.log(probabilities + 1e-4) if log else probabilities).astype(np.float32))
        targets.append(reading_order_targets(batch))
        sums.append(batch.sums)
    return np.concatenate(grids), np.concatenate(targets), np.concatenate(sums)


def build_grid_reader(input_shape: tuple[int, int, int] = (26, 26, 10), any_order: bool = False,
                      learning_rate: float = 1e-3) -> keras.Model:
    """Five heads on a grid of digit log-probabilities (:func:`grid_inputs`) instead of on pixels: two 3×3
    convolutions find the digits among the windows, a pooled, narrow map keeps where they are, and a
    dense layer feeds the heads. Trained in reading order, or in any order (:func:`any_order_loss`).

    >>> build_grid_reader().output.shape
    (None, 5, 11)
    """
    inputs = keras.Input(input_shape, name="grid")
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv3")(x)
    x = keras.layers.Conv2D(8, 1, activation="relu", name="narrow")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(256, activation="relu", name="dense")(x)
    x = keras.layers.Dropout(0.3, name="dropout")(x)
    model = keras.Model(inputs, _heads(x), name="grid_reader_any_order" if any_order else "grid_reader")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=any_order_loss if any_order else "sparse_categorical_crossentropy")
    return model


def build_scan_reader(input_shape: tuple[int, int, int] = (26, 26, 11), units: int = 128,
                      learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3) -> keras.Model:
    """Five heads that read a grid of digit probabilities (:func:`grid_inputs` with ``log=False``) as we read a
    line: column by column. Two 3×3 convolutions look around every cell; each column of the grid, its cells top
    to bottom, becomes one step of a sequence of ``W'`` steps, and a bidirectional GRU reads the columns left to
    right and right to left. Its two last states feed the heads, in reading order.

    A dense layer on the whole grid (:func:`build_grid_reader`) must learn from examples what "the third digit
    from the left" means at every place on the canvas; the scan meets the digits in that order.

    >>> build_scan_reader().output.shape
    (None, 5, 11)
    """
    rows, columns, _ = input_shape
    inputs = keras.Input(input_shape, name="grid")
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.Permute((2, 1, 3), name="columns_first")(x)
    x = keras.layers.Reshape((columns, rows * 32), name="columns")(x)
    x = keras.layers.Dense(128, activation="relu", name="column")(x)
    x = keras.layers.Bidirectional(keras.layers.GRU(units), name="scan")(x)
    x = keras.layers.Dropout(0.3, name="dropout")(x)
    model = keras.Model(inputs, _heads(x), name="scan_reader")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy")
    return model


def read_through(eyes: keras.Model, reader: keras.Model) -> keras.Model:
    """One model from canvases to the heads: ``eyes`` (a model from canvases to a grid, kept frozen) and the
    ``reader`` trained on the grids it makes (with ``log=False``). This is how the shipped ``sequence`` is made.

    >>> from mnistsum.detector import build_detector
    >>> read_through(build_detector(width=8), build_scan_reader()).output.shape
    (None, 5, 11)
    """
    eyes.trainable = False
    reader = keras.Model(reader.input, reader.output, name=reader.name)  # its layers, without its optimizer
    inputs = keras.Input(INPUT_SHAPE, name="canvas")
    return keras.Model(inputs, reader(eyes(inputs)), name="sequence")


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


def most_likely_sums(probabilities: np.ndarray) -> np.ndarray:
    """The most likely sum of the heads ``(N, MAX_DIGITS, 11)``: each head's digit taken as an independent draw
    from its softmax (:data:`BLANK` counting 0), the sum's distribution is their convolution
    (:class:`~mnistsum.value_map.SumDistribution`, as for notebook 08's value map), and this is its mode.

    It differs from the sum of each head's most likely digit when heads hesitate. Two neighbours unsure
    which of a 3 and a 9 comes first both lean to 9: their answers add up to 18, while 3 + 9 = 12 is the more
    likely sum (0.6·0.3 + 0.4·0.7 = 0.46, against 0.6·0.7 = 0.42 for 18).

    >>> p = np.zeros((1, MAX_DIGITS, N_CLASSES), np.float32); p[0, 2:, BLANK] = 1
    >>> p[0, 0, [3, 9]] = 0.4, 0.6; p[0, 1, [3, 9]] = 0.3, 0.7
    >>> sums_of(read(p)).tolist(), most_likely_sums(p).tolist()
    ([18], [12])
    """
    p = np.asarray(probabilities, np.float32)
    if p.ndim != 3 or p.shape[-1] != N_CLASSES:
        raise ValueError(f"probabilities must have shape (N, heads, {N_CLASSES}), got {p.shape}.")
    values = p[..., :BLANK].copy()
    values[..., 0] += p[..., BLANK]  # a blank adds 0, as a 0 does
    return keras.ops.convert_to_numpy(SumDistribution()(values[:, None])).argmax(axis=-1)


def closest_in_x(batch: CanvasBatch) -> np.ndarray:
    """For each canvas, the smallest horizontal distance in pixels between the left edges of two of its digits
    (``x0``); a large number where it holds fewer than two. Below a few pixels, reading order hangs on a
    detail: the digits stand almost one above the other.

    >>> from mnistsum.generator import CanvasConfig, generate
    >>> b = generate(CanvasConfig(split="test"), seed=0, indices=[0])
    >>> x0 = np.sort(b.boxes[0, b.digits[0] >= 0, 0])
    >>> int(closest_in_x(b)[0]) == int(np.diff(x0).min())
    True
    """
    present = batch.digits >= 0
    x0 = batch.boxes[..., 0].astype(np.int64)
    gaps = np.abs(x0[:, :, None] - x0[:, None, :])
    both = present[:, :, None] & present[:, None, :] & ~np.eye(present.shape[1], dtype=bool)
    return np.where(both, gaps, np.iinfo(np.int32).max).min(axis=(1, 2))


def sequence_accuracy(targets: np.ndarray, predicted: np.ndarray) -> dict[str, object]:
    """Per-head accuracy, whole-sequence accuracy (every head right), and ``any_order``: the share of
    read-outs with the right digits and blanks in some order (what counts for heads trained in any order).

    >>> sequence_accuracy(np.array([[1, 2, 10, 10, 10]]), np.array([[2, 10, 1, 10, 10]]))["any_order"]
    1.0
    """
    targets, predicted = np.asarray(targets), np.asarray(predicted)
    if targets.shape != predicted.shape:
        raise ValueError(f"targets {targets.shape} and predictions {predicted.shape} differ in shape.")
    hits = targets == predicted
    same_digits = (np.sort(targets, axis=1) == np.sort(predicted, axis=1)).all(axis=1)
    return {"per_head": hits.mean(axis=0).tolist(), "sequence": float(hits.all(axis=1).mean()),
            "any_order": float(same_digits.mean())}


def summary(targets: np.ndarray, predicted: np.ndarray) -> str:
    """One line on read-outs against their targets: per-head accuracy, whole sequences, the right digits in some
    order, and the right sum of the heads.

    >>> for part in summary(np.array([[1, 2, 10, 10, 10]]), np.array([[2, 1, 10, 10, 10]])).split("; "):
    ...     print(part)
    per head 0.0% 0.0% 100.0% 100.0% 100.0%
    whole sequence 0.0%
    right digits in some order 100.0%
    sum of the heads 100.0%
    """
    scores = sequence_accuracy(targets, predicted)
    right_sums = float((sums_of(targets) == sums_of(predicted)).mean())
    return ("per head " + " ".join(f"{a:.1%}" for a in scores["per_head"])
            + f"; whole sequence {scores['sequence']:.1%}; right digits in some order {scores['any_order']:.1%}; "
            f"sum of the heads {right_sums:.1%}")
