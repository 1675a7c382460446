"""Error analysis helpers: slicing accuracy, looking inside a CNN, and the digits behind the mistakes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def accuracy_by(values, hits) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct value: the value, the share of hits, and how many samples.

    >>> accuracy_by([1, 1, 2], [True, False, True])
    (array([1, 2]), array([0.5, 1. ]), array([2, 1]))
    """
    values = np.asarray(values).reshape(-1)
    hits = np.asarray(hits, dtype=float).reshape(-1)
    if values.shape != hits.shape:
        raise ValueError(f"{values.size} values but {hits.size} hits.")
    keys, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return keys, np.bincount(inverse, weights=hits) / counts, counts


def gradcam(model, image: np.ndarray, layer_name: str) -> np.ndarray:
    """Grad-CAM heat map (H×W of ``layer_name``, in [0, 1]) of the model's first output.

    The map weights each channel of the layer's activation by the mean gradient
    of the output with respect to it, keeping only positive evidence.
    """
    import keras
    import tensorflow as tf

    probe = keras.Model(model.inputs[0], [model.get_layer(layer_name).output, model.outputs[0]])
    x = tf.convert_to_tensor(image[None].astype("float32"))
    with tf.GradientTape() as tape:
        activation, output = probe(x)
        score = tf.reduce_sum(output)
    grads = tape.gradient(score, activation)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * activation, axis=-1))[0].numpy()
    return cam / cam.max() if cam.max() > 0 else cam


def saliency(model, image: np.ndarray) -> np.ndarray:
    """|d output / d pixel|, normalised to [0, 1]: which pixels move the prediction."""
    import keras
    import tensorflow as tf

    probe = keras.Model(model.inputs[0], model.outputs[0])
    x = tf.convert_to_tensor(image[None].astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = tf.reduce_sum(probe(x))
    grad = np.abs(tape.gradient(score, x).numpy()[0, ..., 0])
    return grad / grad.max() if grad.max() > 0 else grad


def activations(model, image: np.ndarray, layer_name: str) -> np.ndarray:
    """The activation of ``layer_name`` for one image, (H, W, channels)."""
    import keras

    probe = keras.Model(model.inputs[0], model.get_layer(layer_name).output)
    return np.asarray(probe(image[None].astype("float32")))[0]


def class_means(values: np.ndarray, labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Mean of each class's ``values`` (images ``(N, H, W)``, latent vectors ``(N, D)``, ...):
    ``(n_classes, ...)`` float. A class without examples is an error, not a row of NaN.

    >>> class_means(np.array([[[0]], [[2]], [[4]]]), np.array([0, 0, 1]), 2)[:, 0, 0]
    array([1., 4.])
    >>> class_means(np.array([[0.0, 2], [2, 2], [5, 5]]), np.array([0, 0, 1]), 2).tolist()
    [[1.0, 2.0], [5.0, 5.0]]
    """
    values, labels = np.asarray(values), np.asarray(labels)
    counts = np.bincount(labels, minlength=n_classes)
    if (counts == 0).any():
        raise ValueError(f"classes {np.flatnonzero(counts == 0).tolist()} have no examples.")
    sums = np.zeros((n_classes,) + values.shape[1:])
    np.add.at(sums, labels, values)
    return sums / counts.reshape((n_classes,) + (1,) * (values.ndim - 1))


def correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of every image in ``a`` with every image in ``b``: ``(len(a), len(b))``.

    Each image is centred first, so a large blob of ink does not match
    everything (as it would with a plain cosine of non-negative pixels).

    >>> correlation(np.array([[0, 1, 2]]), np.array([[5, 6, 7], [2, 1, 0]]))
    array([[ 1., -1.]])
    """
    def unit(x):
        x = x.reshape(len(x), -1).astype(float)
        x = x - x.mean(axis=1, keepdims=True)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    return unit(a) @ unit(b).T


def sum_distribution(label_probs, n_digits: int) -> np.ndarray:
    """Exact distribution of the sum of ``n_digits`` independent digits with ``label_probs``.

    >>> sum_distribution([0.5, 0.5], 2)
    array([0.25, 0.5 , 0.25])
    """
    dist = np.array([1.0])
    for _ in range(n_digits):
        dist = np.convolve(dist, np.asarray(label_probs, float))
    return dist


def mean_prediction_by_sum(sums, predictions) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean prediction for each true sum, and the slope of predictions on truth.

    A slope below 1 is regression to the mean: large sums are under-predicted
    and small ones over-predicted.
    """
    sums = np.asarray(sums).reshape(-1)
    predictions = np.asarray(predictions, float).reshape(-1)
    keys, inverse = np.unique(sums, return_inverse=True)
    means = np.bincount(inverse, weights=predictions) / np.bincount(inverse)
    slope = float(np.polyfit(sums, predictions, 1)[0])
    return keys, means, slope


def pca(values: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Principal components of ``values`` (N, D): ``(projected (N, k), mean (D,), components (k, D))``.

    Project new points with ``(x - mean) @ components.T``.

    >>> projected, mean, components = pca(np.array([[0.0, 0], [2, 2], [4, 4]]), k=1)
    >>> np.round(np.abs(projected[:, 0]), 3).tolist()
    [2.828, 0.0, 2.828]
    """
    values = np.asarray(values, float)
    mean = values.mean(axis=0)
    _, _, vt = np.linalg.svd(values - mean, full_matrices=False)
    return (values - mean) @ vt[:k].T, mean, vt[:k]


@dataclass(frozen=True)
class MisreadDigits:
    """The source digits behind a model's wrong readings, one entry each, the most often wrong first.

    ``ids`` index the MNIST array the digits came from (``CanvasBatch.digit_ids``); ``labels`` are their
    labels; ``read`` the wrong digit read most often; ``wrong`` how many of the ``seen`` times a digit
    appeared it was read wrongly.
    """

    ids: np.ndarray
    labels: np.ndarray
    read: np.ndarray
    wrong: np.ndarray
    seen: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def always_wrong(self) -> np.ndarray:
        """Whether each digit was read wrongly every time it appeared."""
        return self.wrong == self.seen


def misread_digits(digits, read, digit_ids) -> MisreadDigits:
    """Group wrong readings by the source digit they came from.

    ``digits`` are the true digits, ``read`` what a model read for each (any negative number: not read,
    e.g. a missed digit) and ``digit_ids`` which source digit each one is, all the same shape; entries
    whose digit or id is negative (padding, a muddled digit) are left out. A canvas set draws each
    source digit several times, so the same hard digit can make many mistakes: sorting by the share of
    its appearances read wrongly, then by count, puts the digits a model *never* reads right first.

    >>> m = misread_digits([7, 7, 7, 1, 4], [1, 1, 7, 1, 9], [5, 5, 5, 8, 2])
    >>> m.ids.tolist(), m.read.tolist(), m.wrong.tolist(), m.seen.tolist(), m.always_wrong.tolist()
    ([2, 5], [9, 1], [1, 2], [1, 3], [True, False])
    """
    digits, read, digit_ids = (np.asarray(a).reshape(-1) for a in (digits, read, digit_ids))
    if not digits.shape == read.shape == digit_ids.shape:
        raise ValueError(f"digits, read and digit_ids must have the same size, got {digits.size}, {read.size} "
                         f"and {digit_ids.size}.")
    if (read > 9).any():
        raise ValueError(f"read holds {read.max()}: a reading must be a digit 0-9, or negative for none.")
    real = (digits >= 0) & (digit_ids >= 0)
    ids, inverse, seen = np.unique(digit_ids[real], return_inverse=True, return_counts=True)
    wrong_read = (read[real] >= 0) & (read[real] != digits[real])
    wrong = np.bincount(inverse, weights=wrong_read, minlength=len(ids)).astype(np.int64)
    votes = np.zeros((len(ids), 10), np.int64)  # how often each digit was read wrongly as each value
    np.add.at(votes, (inverse[wrong_read], read[real][wrong_read]), 1)
    labels = np.zeros(len(ids), np.int64)
    labels[inverse] = digits[real]
    keep = np.flatnonzero(wrong > 0)
    keep = keep[np.lexsort((-wrong[keep], -wrong[keep] / seen[keep]))]
    return MisreadDigits(ids[keep], labels[keep], votes[keep].argmax(1), wrong[keep], seen[keep])
