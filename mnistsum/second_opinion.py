"""A second opinion for the detector: another model votes on every digit it finds.

Most of the detector's remaining mistakes are digits it reads wrongly, so a model that reads digits
*differently* can vote on each one. Any model that gives the detector's grid of windows a 10-way digit
probability will do: the reader (:mod:`mnistsum.reader`), or notebook 06's classifier, made

* **fully convolutional** (:func:`classifier_grid`): its dense layer becomes a 12×12 convolution with the
  same weights, strided so that it answers for exactly the windows of the detector's grid (top-left
  corners every :data:`~mnistsum.detector.STRIDE` pixels). A canvas pixel is ``ink · digit + U(0, noise)``,
  so each window is first mapped back to the classifier's clean [0, 1] scale: ``(x − noise/2) / ink``,
  clipped.

:class:`Vote` multiplies the two opinions on *which digit* (a product of experts), the second opinion's
raised to a power ``weight`` chosen on validation canvases; *whether* a digit is there stays the detector's
call (its background probability is kept as it is).

The result (:func:`with_second_opinion`) is one Keras model with the detector's output, a grid of
11-way probabilities, so :func:`~mnistsum.detector.decode` and everything built on it work unchanged.
:mod:`mnistsum.aligned` gives the reader's vote another way: each found digit read where its ink is, not
through its grid cell's window (:class:`~mnistsum.aligned.AlignedVote`, with the same output).
"""

from __future__ import annotations

import keras
import numpy as np

from mnistsum.detector import BACKGROUND, N_CLASSES, STRIDE
from mnistsum.generator import CanvasConfig

DETECTOR, CLASSIFIER, VOTE = "detector", "classifier_grid", "vote"  #: the layer names of the combined model


def classifier_grid(classifier: keras.Model, ink: float = CanvasConfig.ink,
                    noise: float = CanvasConfig.noise) -> keras.Model:
    """Notebook 06's classifier slid over a canvas: any size in, ``(H', W', 10)`` digit probabilities out.

    Cell ``(i, j)`` is the classifier's answer for the 28×28 window with top-left corner
    ``(STRIDE·i, STRIDE·j)``, after undoing the canvas's ink and noise. The weights are the classifier's own.
    """
    names = ("conv1", "conv2", "dense", "probabilities")
    conv1, conv2, dense, out = (classifier.get_layer(n) for n in names)
    pool = classifier.get_layer("pool").pool_size[0]
    inputs = keras.Input((None, None, 1), name="canvas")
    x = keras.layers.Rescaling(1.0 / ink, offset=-noise / 2 / ink, name="undo_ink")(inputs)
    x = keras.layers.ReLU(max_value=1.0, name="clip")(x)
    x = keras.layers.Conv2D(conv1.filters, conv1.kernel_size, activation="relu", name="conv1")(x)
    x = keras.layers.Conv2D(conv2.filters, conv2.kernel_size, activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(pool, name="pool")(x)
    side = (28 - conv1.kernel_size[0] - conv2.kernel_size[0] + 2) // pool  # what is left of a 28x28 window
    x = keras.layers.Conv2D(dense.units, side, strides=STRIDE // pool, activation="relu", name="dense")(x)
    outputs = keras.layers.Conv2D(out.units, 1, activation="softmax", name="probabilities")(x)
    grid = keras.Model(inputs, outputs, name=CLASSIFIER)
    for name in names:
        weights = classifier.get_layer(name).get_weights()
        kernel = grid.get_layer(name).get_weights()[0]
        grid.get_layer(name).set_weights([weights[0].reshape(kernel.shape), weights[1]])
    return grid


@keras.saving.register_keras_serializable(package="mnistsum")
class Vote(keras.layers.Layer):
    """Detector grid ``(…, 11)`` and second opinion's grid ``(…, 10)`` → one grid ``(…, 11)``.

    ``p(digit d | a digit is there) ∝ p_detector(d) · p_opinion(d) ** weight``; the background
    probability is the detector's. ``weight = 0`` gives the detector alone.
    """

    def __init__(self, weight: float, **kwargs):
        super().__init__(**kwargs)
        if not np.isfinite(weight) or weight < 0:
            raise ValueError(f"Vote weight={weight} is invalid: it must be a finite number >= 0.")
        self.weight = float(weight)

    def call(self, detector, classifier):
        eps = 1e-7
        background = detector[..., BACKGROUND:]
        logits = keras.ops.log(detector[..., :BACKGROUND] + eps) + self.weight * keras.ops.log(classifier + eps)
        return keras.ops.concatenate([keras.ops.softmax(logits, axis=-1) * (1.0 - background), background], axis=-1)

    def get_config(self):
        return {**super().get_config(), "weight": self.weight}


def with_second_opinion(detector: keras.Model, grid: keras.Model, weight: float) -> keras.Model:
    """The detector and a second opinion's grid model (a reader, or a :func:`classifier_grid`) as one model:
    canvases in, the detector's kind of grid out."""
    inputs = keras.Input((None, None, 1), name="canvas")
    outputs = Vote(weight, name=VOTE)(detector(inputs), grid(inputs))
    return keras.Model(inputs, outputs, name="detector_with_second_opinion")


def parts(model) -> tuple[keras.Model, keras.Model | None, float]:
    """``(detector, second opinion's grid or None, weight)`` of a model made by :func:`with_second_opinion`,
    of an :class:`~mnistsum.aligned.AlignedVote` (its reader), or of a plain detector."""
    from mnistsum.aligned import AlignedVote

    if isinstance(model, AlignedVote):
        return model.detector, model.reader, model.weight
    names = [layer.name for layer in model.layers]
    if VOTE not in names:
        return model, None, 0.0
    grid = next(layer for layer in model.layers[1:] if layer.name not in (DETECTOR, VOTE))  # after the input
    return model.get_layer(DETECTOR), grid, model.get_layer(VOTE).weight


#: The vote weights :func:`choose_weight` tries. A weight far above 1 lets the second opinion name the
#: digit wherever it is sure, while the detector still says where digits are; the list reaches 16
#: because the shipped readers' best weight was the largest one of an earlier list that stopped at 4.
VOTE_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)


def choose_weight(detector_grids: np.ndarray, classifier_grids: np.ndarray, sums: np.ndarray,
                  weights=VOTE_WEIGHTS) -> tuple[float, dict[float, float]]:
    """The vote weight with the best sum accuracy on (validation) canvases, and the accuracy of each.

    Ties go to the smaller weight, the one that leans less on the second opinion.
    """
    from mnistsum.detector import decode

    if detector_grids.shape[-1] != N_CLASSES or classifier_grids.shape[:-1] != detector_grids.shape[:-1]:
        raise ValueError(f"grids must be (N, H, W, {N_CLASSES}) and (N, H, W, 10) of the same canvases, "
                         f"got {detector_grids.shape} and {classifier_grids.shape}.")
    scores = {}
    for weight in weights:
        combined = keras.ops.convert_to_numpy(Vote(weight)(detector_grids, classifier_grids))
        scores[float(weight)] = float(np.mean(decode(combined).sums == sums))
    best = max(scores.values())
    return min(w for w, s in scores.items() if s == best), scores
