"""Sum accuracy: the share of images whose rounded prediction equals the true sum.

Rounding is half-to-even, as in ``numpy.rint`` and ``keras.ops.round``: a
prediction of 22.5 counts as 22 and 23.5 as 24. Predictions and targets may be
shaped ``(N,)`` or ``(N, 1)``.

>>> sum_accuracy([3, 4, 22], [3.4, 4.6, 22.5])
0.6666666666666666
>>> sum_mae([3, 4], [[3.5], [4.0]])
0.25
"""

from __future__ import annotations

import math

import keras
import numpy as np


def _flat_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
            raise ValueError(f"{name} has shape {y.shape}; expected (N,) or (N, 1).")
    y_true, y_pred = y_true.reshape(-1), y_pred.reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} values but y_pred has {y_pred.size} values.")
    if y_true.size == 0:
        raise ValueError("sum accuracy of no images is undefined: pass at least one.")
    return y_true, y_pred


def sum_accuracy(y_true, y_pred) -> float:
    """Share of predictions that round (half to even) to the true sum."""
    y_true, y_pred = _flat_pair(y_true, y_pred)
    return float(np.mean(np.rint(y_pred) == y_true))


def sum_mae(y_true, y_pred) -> float:
    """Mean absolute error of the (unrounded) predicted sums."""
    y_true, y_pred = _flat_pair(y_true, y_pred)
    return float(np.mean(np.abs(y_pred - y_true)))


@keras.saving.register_keras_serializable(package="mnistsum")
class SumAccuracy(keras.metrics.Metric):
    """Streaming sum accuracy for ``model.compile(metrics=[SumAccuracy()])``.

    It agrees with :func:`sum_accuracy` on every batch sequence, and a model
    saved with it reloads with ``keras.models.load_model`` once ``mnistsum`` is
    imported.
    """

    def __init__(self, name: str = "sum_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        ops = keras.ops
        y_true = ops.reshape(ops.cast(y_true, self.dtype), (-1,))
        y_pred = ops.reshape(ops.cast(y_pred, self.dtype), (-1,))
        hit = ops.cast(ops.equal(ops.round(y_pred), y_true), self.dtype)
        if sample_weight is None:
            weight = ops.ones_like(hit)
        else:
            weight = ops.reshape(ops.cast(sample_weight, self.dtype), (-1,))
        self.hits.assign_add(ops.sum(hit * weight))
        self.count.assign_add(ops.sum(weight))

    def result(self):
        return keras.ops.divide_no_nan(self.hits, self.count)

    def reset_state(self):
        self.hits.assign(0.0)
        self.count.assign(0.0)


def gaussian_sum_accuracy(sigma: float) -> float:
    """Sum accuracy of an unbiased predictor whose errors are N(0, sigma²).

    A prediction rounds to the truth when its error lies in (-0.5, 0.5), which
    happens with probability erf(0.5 / (sigma * sqrt(2))).

    >>> round(gaussian_sum_accuracy(0.5), 3)
    0.683
    """
    if sigma <= 0:
        raise ValueError(f"sigma={sigma} must be positive.")
    return math.erf(0.5 / (sigma * math.sqrt(2)))


def constant_baseline(sums) -> dict[str, float]:
    """Sum accuracy and MAE of the best constant guess (the most common sum).

    The floor every model must beat.
    """
    sums = np.asarray(sums).reshape(-1).astype(int)
    guess = int(np.bincount(sums).argmax())
    return {"guess": guess, "sum_accuracy": sum_accuracy(sums, np.full(len(sums), guess)),
            "mae": sum_mae(sums, np.full(len(sums), guess))}
