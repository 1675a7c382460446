"""A sum-only model shaped like the detector: a map of digit values, summed (notebook 08).

The ResNet of notebook 08 squeezes a canvas into one vector and must say "23". This model
keeps the detector's layout instead (:func:`mnistsum.detector.window_features`): for every
28×28 window at a stride of 4 pixels it gives a probability to each *value* 0–9, and the
predicted sum is the sum over all windows of their expected values. It is still told only
the sum of each canvas (a mean-squared error on it): nothing says where the digits are,
which they are, or that a window should hold a whole digit. What it gets is an *inductive
bias*: a sum of local contributions, each at most 9.

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

N_VALUES = 10
#: Starting logit of value 0 against 0 for values 1–9: p(value > 0) ≈ 0.8% per window (5 digits among the 676
#: windows of a 128×128 canvas are 0.7%), so a blank canvas starts at about 27, near the mean sum of 22.5.
ZERO_PRIOR = 7.0


@keras.saving.register_keras_serializable(package="mnistsum")
class ExpectedSum(keras.layers.Layer):
    """``(B, H, W, 10)`` value probabilities -> ``(B, 1)``: the sum over cells of Σ_v v·p(v)."""

    def call(self, probabilities):
        values = keras.ops.arange(N_VALUES, dtype=probabilities.dtype)
        return keras.ops.sum(probabilities * values, axis=(1, 2, 3))[:, None]


def build_value_map(width: int = 32, learning_rate: float = 4e-4) -> keras.Model:
    """The value map, compiled with Adam, mean-squared error on the sum and sum accuracy.

    Fully convolutional like the detector: any canvas of at least 28×28 pixels in, one sum out.
    """
    inputs = keras.Input((None, None, 1), name="canvas")
    logits = keras.layers.Conv2D(N_VALUES, 1, name="value_logits",
                                 bias_initializer=keras.initializers.Constant([ZERO_PRIOR] + [0.0] * (N_VALUES - 1)))
    probabilities = keras.layers.Softmax(name="values")(logits(window_features(inputs, width)))
    model = keras.Model(inputs, ExpectedSum(name="sum")(probabilities), name="value_map")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse", metrics=[SumAccuracy()])
    return model


def value_probabilities(model: keras.Model) -> keras.Model:
    """The map inside a value map: canvases -> ``(B, H, W, 10)`` value probabilities of every window."""
    return keras.Model(model.input, model.get_layer("values").output)


def predicted_sums(model: keras.Model, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """The (unrounded) sums a value map predicts for ``images``."""
    return model.predict(images, batch_size=batch_size, verbose=0)[:, 0]


def expected_values(probabilities: np.ndarray) -> np.ndarray:
    """Each window's expected value Σ_v v·p(v): ``(..., 10)`` probabilities -> ``(...)`` (numpy; what
    :class:`ExpectedSum` adds up)."""
    return (np.asarray(probabilities, np.float64) * np.arange(N_VALUES)).sum(-1)


def value_per_digit(probabilities: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """The value a map gives each annotated digit: the sum of the expected values of the windows
    centred inside the digit's box. ``(N, max_digits)``, NaN where a digit is padding.

    The model is never told where digits are, so this asks what it learnt: a map that reads digits
    gives each one about its value, and little to the windows outside every box.

    >>> p = np.zeros((1, 26, 26, N_VALUES)); p[..., 0] = 1; p[0, 10, 10] = np.eye(N_VALUES)[7]
    >>> value_per_digit(p, np.array([[[28, 28, 56, 56], [-1, -1, -1, -1]]])).tolist()  # centre 4*10+14 = 54
    [[7.0, nan]]
    """
    boxes = np.asarray(boxes)
    values = expected_values(probabilities)  # (N, G, G)
    centres = STRIDE * np.arange(values.shape[1]) + PATCH // 2
    inside_x = (centres >= boxes[..., 0, None]) & (centres < boxes[..., 2, None])  # (N, D, G)
    inside_y = (centres >= boxes[..., 1, None]) & (centres < boxes[..., 3, None])
    found = np.einsum("ndy,ndx,nyx->nd", inside_y, inside_x, values)
    return np.where(boxes[..., 0] >= 0, found, np.nan)


#: The curriculum of :func:`train_value_map_for`: (share of the wall time at which the stage ends, canvases).
CURRICULUM: tuple[tuple[float, CanvasConfig], ...] = (
    (0.25, CanvasConfig(canvas_size=56, max_digits=1, variable_digits=True, max_clutter=2)),
    (0.45, CanvasConfig(variable_digits=True)),
    (1.0, CanvasConfig()),
)


def train_value_map_for(model: keras.Model, seconds: float, learning_rate: float = 4e-4, batch_size: int = 256,
                        images_per_epoch: int = 200_000, seed: int = 1, workers: int = 1, val_images: int = 2_000,
                        curriculum=CURRICULUM, log=print) -> dict[str, list[float]]:
    """Train ``model`` on sums alone for ``seconds`` of wall time through ``curriculum``.

    Stage *k* (phase *k* in the history) trains on fresh ``train`` canvases of stream
    ``seed + 1000 + 100 k``, made by ``workers`` processes; the validation canvases are
    ``val_images`` of the benchmark's recipe from the ``val`` split (stream ``seed + 1001``).
    The learning rate follows a cosine over the whole time (:func:`mnistsum.timed.train_for`).
    """
    from mnistsum.feed import canvas_batches, fixed_batches, sum_target
    from mnistsum.timed import Stage, train_for

    def stage(phase: int, until: float, config: CanvasConfig) -> Stage:
        return Stage(until, phase, lambda: canvas_batches(config.replace(split="train"), seed + 1000 + 100 * phase,
                                                          batch_size, sum_target, workers))

    stages = [stage(phase, until, config) for phase, (until, config) in enumerate(curriculum, start=1)]
    val = fixed_batches(CanvasConfig(split="val"), seed + 1001, val_images, batch_size, sum_target)
    return train_for(model, seconds, learning_rate, stages, val, images_per_epoch, batch_size, log)
