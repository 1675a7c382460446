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

    probe = keras.Model(model.inputs, [model.get_layer(layer_name).output, model.outputs[0]])
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
    import tensorflow as tf

    x = tf.convert_to_tensor(image[None].astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = tf.reduce_sum(model(x))
    grad = np.abs(tape.gradient(score, x).numpy()[0, ..., 0])
    return grad / grad.max() if grad.max() > 0 else grad


def activations(model, image: np.ndarray, layer_name: str) -> np.ndarray:
    """The activation of ``layer_name`` for one image, (H, W, channels)."""
    import keras

    probe = keras.Model(model.inputs, model.get_layer(layer_name).output)
    return np.asarray(probe(image[None].astype("float32")))[0]
