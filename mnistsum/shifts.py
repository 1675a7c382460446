"""Reading a canvas at several shifts: sum-only's test-time augmentation (notebook 08).

A value map (:mod:`mnistsum.value_map`) reads a canvas through a fixed grid: windows every 4 pixels,
cells of 7×7 windows, and where a digit falls on that grid (centred in a window or between two, inside a
cell or on its edge) changes how it is read. Moving the whole canvas a pixel moves every digit against the
grid, so the same weights make *different* mistakes: on validation canvases, reading at one offset gets
89–93% of the sums right whatever the offset, two readings multiplied 93–97%, four about 97%.

:func:`shifted_sum_model` reads a canvas at several ``offsets`` (pixels down and right, on a canvas
:data:`MARGIN` pixels larger with black around it) and multiplies the readings' sum distributions
(:class:`GeometricMean`, a product of experts): an answer that every reading finds likely wins.

Nothing here uses a label: it is the same model, trained on sums alone, asked more than once.
:func:`choose_offsets` picks the offsets among :data:`CANDIDATES` on validation canvases.

>>> from mnistsum.value_map import CELL, build_value_map
>>> model = shifted_sum_model(build_value_map(cell=CELL), offsets=(0, 14))
>>> tuple(model(np.zeros((2, 128, 128, 1), np.float32)).shape), offsets_of(model)
((2, 1), (0, 14))
"""

from __future__ import annotations

import keras
import numpy as np

from mnistsum.generator import PATCH, CanvasConfig

#: Pixels added to a canvas's height and width, a cell's width: ``offset`` above and left, the rest below and right.
MARGIN = PATCH
#: The offsets :func:`choose_offsets` tries: one reading; two, half a cell apart; four sub-stride shifts
#: (the windows are 4 pixels apart); four across a cell. A tie goes to the first, the cheapest.
CANDIDATES: tuple[tuple[int, ...], ...] = ((0,), (0, 14), (0, 1, 2, 3), (0, 7, 14, 21))
READINGS = "readings"  #: the name of the nested model that reads one canvas: canvases -> value probabilities


def check_offsets(offsets) -> tuple[int, ...]:
    """``offsets`` as a tuple of distinct ints in ``[0, MARGIN)``, or a ValueError that says what to change."""
    offsets = tuple(offsets)
    if not offsets or any(isinstance(o, bool) or not isinstance(o, (int, np.integer)) or not 0 <= o < MARGIN
                          for o in offsets) or len(set(offsets)) != len(offsets):
        raise ValueError(f"offsets={offsets!r} are invalid: give one or more distinct whole numbers of pixels "
                         f"from 0 to {MARGIN - 1}.")
    return tuple(int(o) for o in offsets)


@keras.saving.register_keras_serializable(package="mnistsum")
class Shift(keras.layers.Layer):
    """``(B, H, W, C)`` -> ``(B, H + MARGIN, W + MARGIN, C)``: the canvas moved ``offset`` pixels down and
    right on a larger black canvas.

    >>> x = np.ones((1, 2, 2, 1), np.float32)
    >>> y = keras.ops.convert_to_numpy(Shift(3)(x))
    >>> y.shape, y[0, 3:5, 3:5, 0].tolist(), float(y.sum())
    ((1, 30, 30, 1), [[1.0, 1.0], [1.0, 1.0]], 4.0)
    """

    def __init__(self, offset: int, **kwargs):
        super().__init__(**kwargs)
        self.offset = check_offsets((offset,))[0]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *(None if n is None else n + MARGIN for n in input_shape[1:3]), input_shape[3])

    def call(self, canvases):
        before, after = self.offset, MARGIN - self.offset
        return keras.ops.pad(canvases, [[0, 0], [before, after], [before, after], [0, 0]])

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}


@keras.saving.register_keras_serializable(package="mnistsum")
class GeometricMean(keras.layers.Layer):
    """A list of ``(B, K)`` probability distributions -> ``(B, K)``: their geometric mean, normalised.

    >>> p = np.array([[0.6, 0.4, 0.0]], np.float32); q = np.array([[0.1, 0.5, 0.4]], np.float32)
    >>> np.round(keras.ops.convert_to_numpy(GeometricMean()([p, q])).astype(float), 2).tolist()  # the second wins
    [[0.35, 0.65, 0.0]]
    """

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def call(self, distributions):
        logs = keras.ops.stack([keras.ops.log(p + 1e-12) for p in distributions], axis=0)
        return keras.ops.softmax(keras.ops.mean(logs, axis=0), axis=-1)


def shifted_sum_model(model: keras.Model, offsets, canvas_size: int = CanvasConfig().canvas_size,
                      max_sum: int = CanvasConfig().max_sum) -> keras.Model:
    """``model`` (a value map, read by its most likely sum or not) reading each canvas at every one of
    ``offsets``: canvases of ``canvas_size`` in, the most likely sum of the readings' geometric mean out,
    ``(B, 1)``. It shares ``model``'s weights; :func:`unshifted` gives the map back.
    """
    from mnistsum.value_map import MostLikelySum

    inputs = keras.Input((canvas_size, canvas_size, 1), name="canvas")
    readings = _readings(model, inputs, offsets, max_sum)
    combined = GeometricMean(name="geometric_mean")(readings) if len(readings) > 1 else readings[0]
    return keras.Model(inputs, MostLikelySum(name="most_likely_sum")(combined), name="value_map_shifted")


def _readings(model: keras.Model, inputs, offsets, max_sum: int) -> list:
    """``inputs`` (a Keras input) read by ``model``'s value map at each of ``offsets``: one sum distribution
    each. The map is one nested model, :data:`READINGS`, shared by all the readings."""
    from mnistsum.value_map import SumDistribution, value_probabilities

    probabilities = value_probabilities(model)
    read = keras.Model(probabilities.input, probabilities.output, name=READINGS)
    return [SumDistribution(max_sum, name=f"sum_distribution_{o}")(read(Shift(o, name=f"shift_{o}")(inputs)))
            for o in check_offsets(offsets)]


def offsets_of(model: keras.Model) -> tuple[int, ...]:
    """The offsets a :func:`shifted_sum_model` reads at (``()`` for a model that reads once, unshifted)."""
    return tuple(layer.offset for layer in model.layers if isinstance(layer, Shift))


def unshifted(model: keras.Model) -> keras.Model:
    """The value map a :func:`shifted_sum_model` reads with, as a model from canvases to the map's value
    probabilities (one with a ``values`` layer); ``model`` itself when it is not shifted."""
    return model.get_layer(READINGS) if READINGS in [layer.name for layer in model.layers] else model


def sum_distributions(model: keras.Model, images: np.ndarray, offsets, batch_size: int = 64,
                      max_sum: int = CanvasConfig().max_sum) -> np.ndarray:
    """``(len(offsets), N, max_sum + 2)``: the sum distribution of each canvas read at each offset alone."""
    inputs = keras.Input(images.shape[1:])
    readings = keras.Model(inputs, _readings(model, inputs, offsets, max_sum))
    return np.stack(readings.predict(images, batch_size=batch_size, verbose=0))


def product_sums(readings: np.ndarray) -> np.ndarray:
    """``(K, N, S)`` sum distributions of ``N`` canvases read ``K`` times -> ``(N,)``: the most likely sum of
    each canvas under the readings' product (what :class:`GeometricMean` and :class:`MostLikelySum` answer).

    >>> product_sums(np.array([[[0.6, 0.4]], [[0.1, 0.9]]]))  # 0.06 against 0.36
    array([1])
    """
    return np.log(np.asarray(readings, np.float64) + 1e-12).sum(axis=0).argmax(-1)


def choose_offsets(distributions: dict[int, np.ndarray], sums: np.ndarray, candidates=CANDIDATES
                   ) -> tuple[tuple[int, ...], dict[tuple[int, ...], float]]:
    """The candidate offsets whose readings, multiplied, get the most sums right, and each candidate's
    sum accuracy. ``distributions`` maps each offset to its ``(N, K)`` sum distributions of (validation)
    canvases whose true sums are ``sums``. A tie goes to the earlier candidate.

    >>> right, wrong = np.array([[0.4, 0.6]]), np.array([[0.6, 0.4]])  # true sum 1
    >>> choose_offsets({0: wrong, 1: right, 2: right}, np.array([1]), ((0,), (0, 1), (0, 1, 2)))
    ((0, 1, 2), {(0,): 0.0, (0, 1): 0.0, (0, 1, 2): 1.0})
    """
    missing = sorted({o for c in candidates for o in c} - set(distributions))
    if missing:
        raise ValueError(f"no sum distributions for offsets {missing}: read the canvases at every offset of "
                         f"the candidates first (sum_distributions).")
    scores = {offsets: float(np.mean(product_sums([distributions[o] for o in offsets]) == np.asarray(sums)))
              for offsets in map(check_offsets, candidates)}
    best = max(scores.values())
    return next(c for c, s in scores.items() if s == best), scores
