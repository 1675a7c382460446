"""Error analysis helpers: slicing accuracy, and looking inside a CNN."""

from __future__ import annotations

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
