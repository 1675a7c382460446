"""The single-digit MNIST classifier of notebook 06, and the data it learns from.

The architecture is the classic Keras ``mnist_cnn`` example: Conv32 → Conv64 →
MaxPool → Dropout 0.25 → Dense 128 → Dropout 0.5 → softmax 10.

The course splits MNIST as the canvas generator does: train on digits 0–49 999,
validate on 50 000–59 999, and report accuracy on the 10 000 test digits only once.

>>> model = build_digit_classifier()
>>> model.count_params()
1199882
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from mnistsum.data import load_mnist
from mnistsum.generator import MNIST_VAL_START

OPTIMIZERS = ("adadelta", "adam")


def build_digit_classifier(optimizer: str = "adadelta") -> keras.Model:
    """The classic Keras MNIST CNN, compiled with categorical cross-entropy.

    ``optimizer="adadelta"`` uses the classic example's learning rate of 1.0 (Keras 3's
    default for Adadelta is 0.001, a thousand times slower); ``"adam"`` uses Adam at 1e-3.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r} is invalid: it must be one of {OPTIMIZERS}.")
    model = keras.Sequential([
        keras.Input((28, 28, 1), name="digit"),
        keras.layers.Conv2D(32, 3, activation="relu", name="conv1"),
        keras.layers.Conv2D(64, 3, activation="relu", name="conv2"),
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.Dropout(0.25, name="dropout1"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(128, activation="relu", name="dense"),
        keras.layers.Dropout(0.5, name="dropout2"),
        keras.layers.Dense(10, activation="softmax", name="probabilities"),
    ], name="digit_classifier")
    opt = keras.optimizers.Adadelta(learning_rate=1.0) if optimizer == "adadelta" else keras.optimizers.Adam(1e-3)
    model.compile(optimizer=opt, loss="categorical_crossentropy", metrics=["accuracy"])
    return model


@dataclass
class DigitData:
    """MNIST as float32 ``(N, 28, 28, 1)`` in [0, 1] with integer labels, split three ways."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def to_inputs(digits: np.ndarray) -> np.ndarray:
    """uint8 ``(N, 28, 28)`` digits → the classifier's float32 ``(N, 28, 28, 1)`` in [0, 1]."""
    digits = np.asarray(digits)
    if digits.ndim != 3 or digits.shape[1:] != (28, 28):
        raise ValueError(f"digits must have shape (N, 28, 28), got {digits.shape}.")
    return (digits.astype(np.float32) / 255.0)[..., None]


def load_digit_data() -> DigitData:
    """MNIST train 0–49 999 / train 50 000–59 999 / test, ready for the classifier."""
    (x, y), (x_test, y_test) = load_mnist()
    s = MNIST_VAL_START
    return DigitData(to_inputs(x[:s]), y[:s].astype(np.int64), to_inputs(x[s:]), y[s:].astype(np.int64),
                     to_inputs(x_test), y_test.astype(np.int64))


def one_hot(labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Integer labels → float32 one-hot rows (what categorical cross-entropy wants)."""
    return np.eye(n_classes, dtype=np.float32)[np.asarray(labels)]


def imbalance(labels: np.ndarray, keep: dict[int, float], seed: int = 0) -> np.ndarray:
    """Indices of a subset that keeps only the fraction ``keep[c]`` of class ``c`` (others whole).

    >>> labels = np.repeat(np.arange(3), 100)
    >>> np.bincount(labels[imbalance(labels, {1: 0.1})]).tolist()
    [100, 10, 100]
    """
    for c, fraction in keep.items():
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"keep[{c}]={fraction}: a fraction must be in (0, 1].")
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n = round(len(members) * keep.get(int(c), 1.0))
        chosen.append(rng.choice(members, n, replace=False) if n < len(members) else members)
    return np.sort(np.concatenate(chosen))


def balanced_class_weights(labels: np.ndarray, n_classes: int = 10) -> dict[int, float]:
    """Weights ``N / (n_classes * count_c)``: every class then weighs the same in the loss.

    >>> balanced_class_weights(np.array([0, 0, 0, 1]), 2)
    {0: 0.6666666666666666, 1: 2.0}
    """
    counts = np.bincount(labels, minlength=n_classes)
    if (counts == 0).any():
        raise ValueError(f"classes {np.flatnonzero(counts == 0).tolist()} have no examples to weigh.")
    return {c: len(labels) / (n_classes * int(n)) for c, n in enumerate(counts)}


def shift(x: np.ndarray, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
    """Move each image ``(N, H, W, 1)`` by a random whole number of pixels in ``[-max_shift, max_shift]``
    along each axis, filling with black (a classic MNIST augmentation).

    >>> x = np.zeros((1, 5, 5, 1), np.float32); x[0, 2, 2] = 1
    >>> moved = shift(x, np.random.default_rng(0), 1)
    >>> float(moved.sum()), moved.shape
    (1.0, (1, 5, 5, 1))
    """
    n, h, w, _ = x.shape
    padded = np.pad(x, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(1, 2))  # (N, 2s+1, 2s+1, 1, H, W)
    dy, dx = rng.integers(0, 2 * max_shift + 1, (2, n))
    return np.moveaxis(windows[np.arange(n), dy, dx], 1, -1)


class ShiftedDigits(keras.utils.PyDataset):
    """Digits with a fresh random shift every epoch (``max_shift`` pixels), shuffled, in batches."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int = 128, max_shift: int = 2, seed: int = 0,
                 **pydataset_kwargs):
        super().__init__(**pydataset_kwargs)
        self.x, self.y, self.batch_size, self.max_shift, self.seed = x, y, batch_size, max_shift, seed
        self.epoch = 0
        self.order = np.random.default_rng([seed, 0]).permutation(len(x))

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index: int):
        rows = self.order[index * self.batch_size: (index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return shift(self.x[rows], rng, self.max_shift), one_hot(self.y[rows])

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.x))


def train_digit_classifier(data: DigitData, optimizer: str = "adadelta", epochs: int = 12,
                           subset: np.ndarray | None = None, class_weight: dict[int, float] | None = None,
                           max_shift: int = 0, callbacks: list | None = None, verbose: int | str = "auto"):
    """Build and fit the classic CNN on ``data.x_train[subset]`` (all of it by default), batch 128.

    ``max_shift > 0`` moves every training digit by up to that many pixels, anew each epoch.
    Returns ``(model, history dict)``; validation is ``data.x_val``.
    """
    x, y = (data.x_train, data.y_train) if subset is None else (data.x_train[subset], data.y_train[subset])
    model = build_digit_classifier(optimizer)
    fit_data = dict(x=ShiftedDigits(x, y, 128, max_shift)) if max_shift else dict(x=x, y=one_hot(y), batch_size=128)
    history = model.fit(**fit_data, epochs=epochs, class_weight=class_weight,
                        validation_data=(data.x_val, one_hot(data.y_val)), callbacks=callbacks or [],
                        verbose=verbose)
    return model, history.history


def predict_probabilities(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Class probabilities ``(N, 10)`` of digits ``x`` ``(N, 28, 28, 1)``."""
    return model.predict(x, batch_size=512, verbose=0)
