"""A small ResNet that reads the sum as a 46-way classification (notebook 08).

It sees only the sum of each canvas, never where the digits are or which they
are. Classes are the sums 0–45; the prediction is the most likely class.

Focal loss (Lin et al., 2017) multiplies cross-entropy by ``α (1 - p)^γ``, where
*p* is the probability given to the true class: examples the model already gets
right (*p* near 1) weigh little, hard ones weigh fully. γ = 0 gives plain
cross-entropy (scaled by α). Sums near 22 are common and sums near 0 or 45 are
rare, so the classes are imbalanced, which is the case focal loss was made for.

>>> model = build_resnet()
>>> model.output.shape
(None, 46)
>>> build_resnet(input_shape=(SMALL_TASK.canvas_size, SMALL_TASK.canvas_size, 1)).output.shape
(None, 46)
>>> focal_factor(np.array([0.5, 0.9]), gamma=2.0).round(3).tolist()
[0.25, 0.01]
"""

from __future__ import annotations

import keras
import numpy as np

from mnistsum.generator import CanvasBatch, CanvasConfig
from mnistsum.models import INPUT_SHAPE

N_SUMS = CanvasConfig().max_sum + 1
LOSSES = ("cross-entropy", "focal")
#: A task the ResNet learns from sums alone on a CPU in minutes, where on the benchmark's canvases it does not
#: leave the plateau of the most common sum: 64×64 pixels, 0–2 digits (a uniform number attempted, so a third of
#: the canvases are empty and many hold a single digit, whose sum *is* the digit), 2 clutter patches.
SMALL_TASK = CanvasConfig(canvas_size=64, max_digits=2, max_clutter=2, variable_digits=True)


def residual_block(x, filters: int, stride: int, name: str):
    """Two 3×3 convolutions with batch norm, added to a shortcut (1×1 conv when the shape changes)."""
    shortcut = x
    y = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = keras.layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = keras.layers.ReLU(name=f"{name}_relu1")(y)
    y = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = keras.layers.BatchNormalization(name=f"{name}_bn2")(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = keras.layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_proj")(x)
        shortcut = keras.layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
    return keras.layers.ReLU(name=f"{name}_out")(keras.layers.Add(name=f"{name}_add")([y, shortcut]))


def build_resnet(loss: str = "cross-entropy", alpha: float = 0.25, gamma: float = 2.0,
                 widths: tuple[int, ...] = (16, 32, 64, 128), learning_rate: float = 1e-4,
                 input_shape: tuple[int, int, int] = INPUT_SHAPE) -> keras.Model:
    """Stem conv (stride 2), one residual block per width (stride 2 after the first), pooling, softmax 46.

    Compiled with Adam at ``learning_rate`` and ``loss`` (``"cross-entropy"`` or ``"focal"``). The global
    pooling lets it read canvases of any ``input_shape`` (e.g. :data:`SMALL_TASK`'s 64×64); the 46 classes stay.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss={loss!r} is invalid: it must be one of {LOSSES}.")
    inputs = keras.Input(input_shape, name="canvas")
    x = keras.layers.Conv2D(widths[0], 3, strides=2, padding="same", use_bias=False, name="stem")(inputs)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    for i, width in enumerate(widths):
        x = residual_block(x, width, 1 if i == 0 else 2, f"block{i + 1}")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(N_SUMS, activation="softmax", name="sum_probabilities")(x)
    model = keras.Model(inputs, outputs, name=f"resnet_{loss.replace('-', '_')}")
    loss_fn = (keras.losses.CategoricalFocalCrossentropy(alpha=alpha, gamma=gamma) if loss == "focal"
               else keras.losses.CategoricalCrossentropy())
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss_fn, metrics=["accuracy"])
    return model


def sum_classes(batch: CanvasBatch) -> np.ndarray:
    """One-hot targets ``(B, 46)`` of the canvases' sums (a ``targets`` for :class:`CanvasDataset`)."""
    return np.eye(N_SUMS, dtype=np.float32)[batch.sums]


def most_likely_sum(probabilities: np.ndarray) -> np.ndarray:
    """The class with the highest probability, i.e. the predicted sum."""
    return np.asarray(probabilities).argmax(axis=-1)


def focal_factor(p_true: np.ndarray, gamma: float) -> np.ndarray:
    """``(1 - p)^γ``: how much focal loss keeps of an example's cross-entropy."""
    return (1.0 - np.asarray(p_true, np.float64)) ** gamma


def reduce_lr_on_plateau() -> keras.callbacks.ReduceLROnPlateau:
    """The course's schedule: divide the learning rate by 5 after 3 epochs without progress, down to 1e-7."""
    return keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=3, min_lr=1e-7)
