"""A sum-only model shaped like the detector: a map of digit values, summed (notebook 08).

The ResNet of notebook 08 squeezes a canvas into one vector and must say "23". This model
keeps the detector's layout instead (:func:`mnistsum.detector.window_features`): for every
28×28 window at a stride of 4 pixels it gives a probability to each *value* 0–9. It is still
told only the sum of each canvas: nothing says where the digits are, which they are, or that
a window should hold a whole digit. What it gets is an *inductive bias*: a sum of local
contributions, each at most 9.

It can be trained and read in two ways (:data:`OBJECTIVES`):

* ``"mse"``: the sum of every window's expected value (:class:`ExpectedSum`, the output of
  :func:`build_value_map`) with a mean-squared error. Answers that are right on average
  satisfy it, so windows never have to commit to a value;
* ``"likelihood"`` (sum-only's): each window's value is an independent draw from its softmax,
  so the sum has a distribution, the convolution of theirs (:class:`SumDistribution`).
  Training maximises the probability of the true sum; the answer is the most likely sum
  (:func:`most_likely_sum_model`).

A map can also read *cells* instead of windows (``build_value_map(cell=CELL)``, sum-only's):
one categorical per block of 7×7 windows (:class:`CellValues`). No two digits are centred in one
cell, so a cell holds at most one digit and the map cannot count a digit twice inside it; only
at the cells' edges must it learn which cell a digit belongs to.

Value 0 stands for "adds nothing": background, clutter, or the digit 0, which the sum alone
cannot tell apart. The bias of value 0 starts at :data:`ZERO_PRIOR`, so that each window
starts near "nothing here" and a canvas near the mean sum; without it the first steps push
every window to zero, where the softmax has no gradient left.

Training follows a curriculum (:data:`CURRICULUM`): first small canvases with at most one
digit, where the sum *is* the digit, then canvases with 0–5 digits, then the benchmark's
recipe. Every stage's labels are sums.

>>> model = build_value_map()
>>> model.count_params()
198058
>>> tuple(value_probabilities(model)(np.zeros((1, 128, 128, 1), np.float32)).shape)
(1, 26, 26, 10)
>>> round(float(model(np.zeros((1, 128, 128, 1), np.float32))[0, 0]), 1)  # every window near "nothing"
27.5
"""

from __future__ import annotations

import keras
import numpy as np

from mnistsum.detector import window_features
from mnistsum.generator import PATCH, CanvasConfig
from mnistsum.grid import STRIDE
from mnistsum.metrics import SumAccuracy
from mnistsum.shifts import unshifted

N_VALUES = 10
#: Starting logit of value 0 against 0 for values 1–9: p(value > 0) ≈ 0.8% per window (5 digits among the 676
#: windows of a 128×128 canvas are 0.7%), so a blank canvas starts at about 27, near the mean sum of 22.5.
ZERO_PRIOR = 7.0
#: Windows per side of a cell (:class:`CellValues`): a cell's window centres span ``STRIDE * (CELL - 1)`` = 24
#: pixels, less than a digit's 28, so two digits that do not overlap are never centred in the same cell.
CELL = PATCH // STRIDE
#: Starting logit of value 0 in a cell map: p(value > 0) = 9 / (9 + e³) ≈ 31% per cell, about 5 of the 16 cells
#: of a 128×128 canvas, so a blank canvas starts at about 25.
CELL_ZERO_PRIOR = 3.0


@keras.saving.register_keras_serializable(package="mnistsum")
class ExpectedSum(keras.layers.Layer):
    """``(B, H, W, 10)`` value probabilities -> ``(B, 1)``: the sum over cells of Σ_v v·p(v)."""

    def call(self, probabilities):
        values = keras.ops.arange(N_VALUES, dtype=probabilities.dtype)
        return keras.ops.sum(probabilities * values, axis=(1, 2, 3))[:, None]


def _whole_number(name: str, value, minimum: int) -> int:
    """``value`` as an int, or a ValueError that names it if it is not a whole number >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r} is invalid: it must be an integer >= {minimum}.")
    return int(value)


def _sum_pairs(a_len: int, b_len: int, cap: int) -> np.ndarray:
    """``(a_len·b_len, out)`` 0/1 matrix sending outcome pair ``(i, j)`` (flattened as ``i·b_len + j``) to
    ``min(i + j, cap)``: multiplying an outer product of two distributions by it gives the distribution
    of their sum, everything from ``cap`` up in the last bin."""
    i, j = np.divmod(np.arange(a_len * b_len), b_len)
    pairs = np.zeros((a_len * b_len, min(a_len + b_len - 1, cap + 1)), np.float32)
    pairs[np.arange(a_len * b_len), np.minimum(i + j, cap)] = 1.0
    return pairs


@keras.saving.register_keras_serializable(package="mnistsum")
class SumDistribution(keras.layers.Layer):
    """``(B, H, W, 10)`` value probabilities -> ``(B, max_sum + 2)``: the probability of every sum.

    Each window's value is taken as an independent draw from its distribution, so the sum's distribution
    is their convolution. It is computed exactly, in a tree: windows are paired and each pair replaced by the
    distribution of its sum, until one is left (⌈log2(H·W)⌉ rounds). Bin ``s`` is P(sum = s) for
    ``s <= max_sum``; the last bin holds P(sum > max_sum), so the bins always add up to 1.

    H and W must be known when the layer runs: give the model canvases of one size
    (:func:`sum_distribution_model` builds it for a size).

    >>> p = np.zeros((1, 1, 2, N_VALUES), np.float32); p[0, 0, 0, [2, 3]] = 0.5; p[0, 0, 1, 4] = 1
    >>> np.round(keras.ops.convert_to_numpy(SumDistribution(max_sum=8)(p))[0], 2).tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0]
    """

    def __init__(self, max_sum: int = CanvasConfig().max_sum, **kwargs):
        super().__init__(**kwargs)
        self.max_sum = _whole_number("SumDistribution max_sum", max_sum, 0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.max_sum + 2)

    def call(self, probabilities):
        height, width, values = probabilities.shape[1:]
        if height is None or width is None:
            raise ValueError("SumDistribution needs the canvas size to be known when it runs, one size per model: "
                             "build a model for each size, e.g. sum_distribution_model(value_map, canvas_size=56).")
        batch, cap = keras.ops.shape(probabilities)[0], self.max_sum + 1
        q = keras.ops.reshape(probabilities, (batch, height * width, values))
        if values > cap:  # values beyond the cap all land in the last bin
            q = keras.ops.concatenate([q[..., :cap], keras.ops.sum(q[..., cap:], axis=-1, keepdims=True)], axis=-1)
        while q.shape[1] > 1:
            n, length = q.shape[1], q.shape[2]
            if n % 2:  # a window that surely adds nothing pairs with the odd one out
                nothing = keras.ops.one_hot(keras.ops.zeros((batch, 1), "int32"), length, dtype=q.dtype)
                q, n = keras.ops.concatenate([q, nothing], axis=1), n + 1
            outer = q[:, 0::2, :, None] * q[:, 1::2, None, :]
            q = keras.ops.matmul(keras.ops.reshape(outer, (batch, n // 2, length * length)),
                                 _sum_pairs(length, length, cap))
        q = q[:, 0]
        return keras.ops.pad(q, [[0, 0], [0, cap + 1 - q.shape[1]]]) if q.shape[1] < cap + 1 else q

    def get_config(self):
        return {**super().get_config(), "max_sum": self.max_sum}


@keras.saving.register_keras_serializable(package="mnistsum")
class MostLikelySum(keras.layers.Layer):
    """``(B, K)`` probabilities of the sums 0..K-1 -> ``(B, 1)``: the most likely one, as a float."""

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def call(self, probabilities):
        return keras.ops.cast(keras.ops.argmax(probabilities, axis=-1), "float32")[:, None]


@keras.saving.register_keras_serializable(package="mnistsum")
class CellValues(keras.layers.Layer):
    """``(B, H, W, 10)`` value logits of windows -> ``(B, ⌈H/cell⌉, ⌈W/cell⌉, 10)`` value probabilities of
    cells.

    A cell is a block of ``cell × cell`` windows (the last row and column of blocks may be cut short).
    One softmax runs over all of a block's (window, value) pairs, so one window and one value win per
    cell; P(cell value = v) adds up the pairs with value v.

    >>> logits = np.zeros((1, 8, 8, N_VALUES), np.float32); logits[..., 0] = 20; logits[0, 1, 2, 7] = 40
    >>> cells = keras.ops.convert_to_numpy(CellValues()(logits))
    >>> cells.shape, cells[0, :, :, 7].round(2).tolist()
    ((1, 2, 2, 10), [[1.0, 0.0], [0.0, 0.0]])
    """

    def __init__(self, cell: int = CELL, **kwargs):
        super().__init__(**kwargs)
        self.cell = _whole_number("CellValues cell (windows per side)", cell, 1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *(None if n is None else -(-n // self.cell) for n in input_shape[1:3]),
                input_shape[3])

    def call(self, logits):
        shape, values, cell = keras.ops.shape(logits), logits.shape[-1], self.cell
        rows, cols = (shape[1] + cell - 1) // cell, (shape[2] + cell - 1) // cell
        blocks = keras.ops.pad(logits, [[0, 0], [0, rows * cell - shape[1]], [0, cols * cell - shape[2]], [0, 0]],
                               constant_values=-1e9)  # windows that do not exist get no probability
        blocks = keras.ops.reshape(blocks, (shape[0], rows, cell, cols, cell, values))
        blocks = keras.ops.reshape(keras.ops.transpose(blocks, (0, 1, 3, 2, 4, 5)),
                                   (shape[0], rows, cols, cell * cell * values))
        pairs = keras.ops.reshape(keras.ops.softmax(blocks, axis=-1), (shape[0], rows, cols, cell * cell, values))
        return keras.ops.sum(pairs, axis=3)

    def get_config(self):
        return {**super().get_config(), "cell": self.cell}


def build_value_map(width: int = 32, learning_rate: float = 4e-4, cell: int = 1) -> keras.Model:
    """The value map, compiled with Adam, mean-squared error on the sum and sum accuracy.

    Fully convolutional like the detector: any canvas of at least 28×28 pixels in, one sum out. With
    ``cell=1`` every window has its own softmax over the values; with ``cell=CELL`` every cell of 7×7
    windows has one (:class:`CellValues`).
    """
    cell = _whole_number(f"cell (1 for a value per window, CELL={CELL} for a value per cell)", cell, 1)
    inputs = keras.Input((None, None, 1), name="canvas")
    prior = ZERO_PRIOR if cell == 1 else CELL_ZERO_PRIOR
    logits = keras.layers.Conv2D(N_VALUES, 1, name="value_logits",
                                 bias_initializer=keras.initializers.Constant([prior] + [0.0] * (N_VALUES - 1)))
    read = keras.layers.Softmax(name="values") if cell == 1 else CellValues(cell, name="values")
    return _expected_sum_model(inputs, read(logits(window_features(inputs, width))), learning_rate)


def value_map_from(model: keras.Model, learning_rate: float = 4e-4) -> keras.Model:
    """The value map inside ``model`` (a value map, or one read by :func:`most_likely_sum_model` or at several
    shifts, :func:`mnistsum.shifts.shifted_sum_model`, as the shipped sum-only is), compiled afresh to train
    further. It shares ``model``'s weights.

    >>> shipped = most_likely_sum_model(build_value_map(cell=CELL))
    >>> value_map = value_map_from(shipped)
    >>> value_map.get_layer("values") is shipped.get_layer("values"), value_map.output_shape
    (True, (None, 1))
    """
    model = unshifted(model)
    return _expected_sum_model(model.input, model.get_layer("values").output, learning_rate)


def _expected_sum_model(inputs, probabilities, learning_rate: float) -> keras.Model:
    """Canvases -> the expected sum of ``probabilities``, compiled with Adam, mean-squared error and sum accuracy."""
    model = keras.Model(inputs, ExpectedSum(name="sum")(probabilities), name="value_map")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse", metrics=[SumAccuracy()])
    return model


def sum_distribution_model(value_map: keras.Model, canvas_size: int = CanvasConfig().canvas_size,
                           optimizer: keras.optimizers.Optimizer | None = None,
                           max_sum: int = CanvasConfig().max_sum) -> keras.Model:
    """``value_map`` read as a distribution of the sum (:class:`SumDistribution`): canvases of
    ``canvas_size`` in, ``(B, max_sum + 2)`` sum probabilities out; its weights are the value map's.

    Compiled to maximise the log-probability of the true sum (sparse cross-entropy; give the sums as
    targets), with ``optimizer`` (by default a fresh Adam at 4e-4; pass another model's to share it) and
    the sum accuracy of the most likely sum.
    """
    inputs = keras.Input((canvas_size, canvas_size, 1), name="canvas")
    distribution = SumDistribution(max_sum, name="sum_distribution")(value_probabilities(value_map)(inputs))
    model = keras.Model(inputs, distribution, name=f"sum_distribution_{canvas_size}")
    model.compile(optimizer=optimizer or keras.optimizers.Adam(4e-4), loss="sparse_categorical_crossentropy",
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="sum_accuracy")])
    return model


def most_likely_sum_model(value_map: keras.Model, max_sum: int = CanvasConfig().max_sum) -> keras.Model:
    """``value_map`` answering with the most likely sum of its :class:`SumDistribution`, ``(B, 1)``: how a
    value map trained by its likelihood is read and shipped. It shares the value map's graph, so
    :func:`value_probabilities` and :func:`predicted_sums` work on it as on the value map; each call must
    give canvases of one size.
    """
    distribution = SumDistribution(max_sum, name="sum_distribution")(value_map.get_layer("values").output)
    return keras.Model(value_map.input, MostLikelySum(name="most_likely_sum")(distribution),
                       name="value_map_most_likely_sum")


def value_probabilities(model: keras.Model) -> keras.Model:
    """The map inside a value map (read once or at several shifts): canvases -> ``(B, H, W, 10)`` value
    probabilities of every window (or, in a map of cells, of every cell)."""
    model = unshifted(model)
    return keras.Model(model.input, model.get_layer("values").output)


def predicted_sums(model: keras.Model, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """The (unrounded) sums a value map predicts for ``images``."""
    return model.predict(images, batch_size=batch_size, verbose=0)[:, 0]


def expected_values(probabilities: np.ndarray) -> np.ndarray:
    """Each window's expected value Σ_v v·p(v): ``(..., 10)`` probabilities -> ``(...)`` (numpy; what
    :class:`ExpectedSum` adds up)."""
    return (np.asarray(probabilities, np.float64) * np.arange(N_VALUES)).sum(-1)


def value_per_digit(probabilities: np.ndarray, boxes: np.ndarray, cell: int = 1) -> np.ndarray:
    """The value a map gives each annotated digit, ``(N, max_digits)``, NaN where a digit is padding.

    For a map of windows (``cell=1``), the sum of the expected values of the windows centred inside the
    digit's box; for a map of cells, the expected value of the cell that holds the window nearest the
    digit's centre (a cell holds at most one digit, so a digit the map put in the next cell gets 0 here).

    The model is never told where digits are, so this asks what it learnt: a map that reads digits
    gives each one about its value, and little to the windows outside every box.

    >>> p = np.zeros((1, 26, 26, N_VALUES)); p[..., 0] = 1; p[0, 10, 10] = np.eye(N_VALUES)[7]
    >>> value_per_digit(p, np.array([[[28, 28, 56, 56], [-1, -1, -1, -1]]])).tolist()  # centre 4*10+14 = 54
    [[7.0, nan]]
    >>> p = np.zeros((1, 4, 4, N_VALUES)); p[..., 0] = 1; p[0, 1, 2] = np.eye(N_VALUES)[7]  # row 1, column 2
    >>> value_per_digit(p, np.array([[[60, 30, 88, 58]]]), cell=CELL).tolist()  # nearest window: x 15, y 8
    [[7.0]]
    """
    cell = _whole_number("value_per_digit cell (1 for a map of windows, CELL for a map of cells)", cell, 1)
    boxes = np.asarray(boxes)
    values = expected_values(probabilities)  # (N, G, G)
    if cell == 1:
        centres = STRIDE * np.arange(values.shape[1]) + PATCH // 2
        inside_x = (centres >= boxes[..., 0, None]) & (centres < boxes[..., 2, None])  # (N, D, G)
        inside_y = (centres >= boxes[..., 1, None]) & (centres < boxes[..., 3, None])
        found = np.einsum("ndy,ndx,nyx->nd", inside_y, inside_x, values)
    else:
        nearest = np.rint(np.maximum(boxes[..., :2], 0) / STRIDE).astype(int) // cell  # (N, D, 2): cell x, y
        columns, rows = (np.minimum(nearest[..., k], values.shape[2 - k] - 1) for k in (0, 1))
        found = values[np.arange(len(values))[:, None], rows, columns]
    return np.where(boxes[..., 0] >= 0, found, np.nan)


#: The curriculum of :func:`train_value_map_for`: (share of the wall time at which the stage ends, canvases).
CURRICULUM: tuple[tuple[float, CanvasConfig], ...] = (
    (0.25, CanvasConfig(canvas_size=56, max_digits=1, variable_digits=True, max_clutter=2)),
    (0.45, CanvasConfig(variable_digits=True)),
    (1.0, CanvasConfig()),
)


#: How :func:`train_value_map_for` can train a value map on sums.
OBJECTIVES = ("likelihood", "mse")


def train_value_map_for(model: keras.Model, seconds: float, learning_rate: float = 4e-4, batch_size: int = 256,
                        images_per_epoch: int = 200_000, seed: int = 1, workers: int = 1, val_images: int = 2_000,
                        curriculum=CURRICULUM, objective: str = "likelihood", from_phase: int = 1,
                        log=print) -> dict[str, list[float]]:
    """Train ``model`` on sums alone for ``seconds`` of wall time through ``curriculum``.

    ``objective`` says what is learnt from each sum:

    * ``"likelihood"``: the log-probability of the true sum under the map's :class:`SumDistribution`. Each
      canvas size trains its own :func:`sum_distribution_model`, sharing ``model``'s weights and optimizer;
      the history's ``sum_accuracy`` is that of the most likely sum (:func:`most_likely_sum_model`).
    * ``"mse"``: the mean-squared error of ``model``'s own output, the expected sum.

    Stage *k* (phase *k* in the history) trains on fresh ``train`` canvases of stream
    ``seed + 1000 + 100 k``, made by ``workers`` processes, until its share of the time. Stages before
    ``from_phase`` are left out: a map trained already goes on with ``from_phase=len(curriculum)``, the
    benchmark's recipe alone. The validation canvases are
    ``val_images`` of the benchmark's recipe from the ``val`` split (stream ``seed + 1001``).
    The learning rate follows a cosine over the whole time (:func:`mnistsum.timed.train_for`).
    """
    from mnistsum.feed import canvas_batches, fixed_batches, sum_target
    from mnistsum.timed import Stage, train_for

    if objective not in OBJECTIVES:
        raise ValueError(f"objective={objective!r} is invalid: it must be one of {OBJECTIVES}.")
    if _whole_number("from_phase", from_phase, 1) > len(curriculum):
        raise ValueError(f"from_phase={from_phase} is invalid: the curriculum has {len(curriculum)} phases.")
    val_config = CanvasConfig(split="val")
    trainers: dict[int, keras.Model] = {}
    max_sum = max(c.max_sum for _, c in curriculum)

    def trainer(config: CanvasConfig) -> keras.Model:
        if objective == "mse":
            return model
        if config.canvas_size not in trainers:
            trainers[config.canvas_size] = sum_distribution_model(model, config.canvas_size, model.optimizer, max_sum)
        return trainers[config.canvas_size]

    def stage(phase: int, until: float, config: CanvasConfig) -> Stage:
        return Stage(until, phase, lambda: canvas_batches(config.replace(split="train"), seed + 1000 + 100 * phase,
                                                          batch_size, sum_target, workers), trainer(config))

    stages = [stage(phase, until, config) for phase, (until, config) in enumerate(curriculum, start=1)
              if phase >= from_phase]
    val = fixed_batches(val_config, seed + 1001, val_images, batch_size, sum_target)
    return train_for(trainer(val_config), seconds, learning_rate, stages, val, images_per_epoch, batch_size, log)
