"""A convolutional auto-encoder of MNIST digits, and "muddled" digits made in its latent space (issue #5).

The encoder maps a 28×28 digit through 4 convolutional blocks and a dense layer to a
10-dimensional latent vector; the decoder maps it back through a dense layer and 4
transposed-convolution blocks. A digit is *muddled* by decoding a point between its
latent vector and that of a digit of the nearest other class.

>>> ae = build_autoencoder()
>>> ae.get_layer("encoder").output.shape, ae.get_layer("decoder").output.shape
((None, 10), (None, 28, 28, 1))
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from mnistsum.analysis import class_means

LATENT = 10


def build_autoencoder(latent: int = LATENT, learning_rate: float = 1e-3) -> keras.Model:
    """Encoder (4 conv blocks + Dense ``latent``) and decoder (Dense + 4 transposed-conv blocks)."""
    encoder = keras.Sequential([
        keras.Input((28, 28, 1), name="digit"),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="enc1"),
        keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu", name="enc2"),  # 14
        keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu", name="enc3"),  # 7
        keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="enc4"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(latent, name="latent"),
    ], name="encoder")
    decoder = keras.Sequential([
        keras.Input((latent,), name="latent"),
        keras.layers.Dense(7 * 7 * 64, activation="relu", name="expand"),
        keras.layers.Reshape((7, 7, 64), name="reshape"),
        keras.layers.Conv2DTranspose(64, 3, padding="same", activation="relu", name="dec1"),
        keras.layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu", name="dec2"),  # 14
        keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu", name="dec3"),  # 28
        keras.layers.Conv2DTranspose(1, 3, padding="same", activation="sigmoid", name="dec4"),
    ], name="decoder")
    inputs = keras.Input((28, 28, 1), name="digit")
    model = keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")
    # binary cross-entropy per pixel: with a sigmoid output it keeps a strong gradient where MSE stalls
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy",
                  metrics=[keras.metrics.MeanSquaredError(name="mse")])
    return model


def train_autoencoder(epochs: int = 10, callbacks: list | None = None, verbose: int | str = "auto"):
    """Fit :func:`build_autoencoder` on the 50,000 training digits (validation: the next 10,000), batch 128.

    Returns ``(model, history dict)``.
    """
    from mnistsum.classifier import load_digit_data

    data = load_digit_data()
    model = build_autoencoder()
    history = model.fit(data.x_train, data.x_train, batch_size=128, epochs=epochs,
                        validation_data=(data.x_val, data.x_val), callbacks=callbacks or [], verbose=verbose)
    return model, history.history


def nearest_other_class(latents: np.ndarray, labels: np.ndarray, means: np.ndarray) -> np.ndarray:
    """For each latent vector, the class whose mean is nearest, its own class excluded.

    >>> nearest_other_class(np.array([[0.1, 0.0]]), np.array([0]), np.array([[0.0, 0], [1, 0], [5, 5]])).tolist()
    [1]
    """
    distance = np.linalg.norm(latents[:, None, :] - means[None], axis=-1)
    distance[np.arange(len(labels)), labels] = np.inf
    return distance.argmin(axis=1)


@dataclass
class Muddled:
    """Muddled digits with where they came from."""

    images: np.ndarray  # (N, 28, 28) float32 in [0, 1]
    source: np.ndarray  # (N,) the label of digit a, the "true" label
    partner: np.ndarray  # (N,) the nearest other class, the label of digit b
    originals: np.ndarray  # (N, 28, 28) digit a
    partners: np.ndarray  # (N, 28, 28) digit b
    t: np.ndarray  # (N,) where on the path from a (0) to b (1) the muddled digit was decoded


METHODS = ("average", "farthest", "balanced")


def muddle(encoder: keras.Model, decoder: keras.Model, digits: np.ndarray, labels: np.ndarray, means: np.ndarray,
           digit: int, n: int, seed: int, method: str = "average", classifier: keras.Model | None = None,
           steps: int = 21, min_top2: float = 0.9) -> Muddled:
    """``n`` muddled versions of random digits of class ``digit`` (from ``digits``, uint8 or [0, 1]).

    Digit *a* (latent ``l1``) is paired with a random digit *b* (latent ``l2``) of the class whose mean is
    nearest to ``l1``. Then, by ``method``:

    - ``"average"``: decode ``(l1 + l2) / 2``;
    - ``"farthest"``: decode ``steps`` points from ``l1`` to ``l2`` and keep the one with the largest
      ``mse(o, a) + mse(o, b)`` among those that look like a digit: the ``classifier``'s two most likely
      classes hold at least ``min_top2`` of the probability;
    - ``"balanced"``: among the points that look like a digit *and* whose two most likely classes are
      the source and the partner, keep the one where the classifier is most torn
      (smallest ``|p(source) - p(partner)|``).

    Where no point qualifies, the midpoint is kept.
    """
    if not 0 <= digit <= 9:
        raise ValueError(f"digit={digit}: it must be 0-9.")
    if n < 1:
        raise ValueError(f"n={n}: ask for at least one digit.")
    if method not in METHODS or (method != "average" and classifier is None):
        raise ValueError(f"method={method!r}: use one of {METHODS}; the last two need a classifier.")
    x = digits.astype(np.float32) / (255.0 if digits.dtype == np.uint8 else 1.0)
    rng = np.random.default_rng(seed)
    a = rng.choice(np.flatnonzero(labels == digit), n)
    l1 = encoder.predict(x[a][..., None], verbose=0)
    partner = nearest_other_class(l1, np.full(n, digit), means)
    b = np.array([rng.choice(np.flatnonzero(labels == p)) for p in partner])
    l2 = encoder.predict(x[b][..., None], verbose=0)
    ts = np.array([0.5]) if method == "average" else np.linspace(0.0, 1.0, steps)
    path = decoder.predict(((1 - ts[:, None, None]) * l1 + ts[:, None, None] * l2).reshape(-1, l1.shape[1]),
                           verbose=0).reshape(len(ts), n, 28, 28)
    best = np.zeros(n, int)
    if method != "average":
        p = classifier.predict(path.reshape(-1, 28, 28, 1), verbose=0).reshape(len(ts), n, -1)
        looks_like_digit = np.sort(p, axis=-1)[..., -2:].sum(-1) >= min_top2
        if method == "farthest":
            score = ((path - x[a]) ** 2).mean(axis=(2, 3)) + ((path - x[b]) ** 2).mean(axis=(2, 3))
            score = np.where(looks_like_digit, score, -np.inf)
        else:
            p_source, p_partner = p[:, np.arange(n), digit], p[:, np.arange(n), partner]
            both_on_top = np.sort(np.argsort(p, axis=-1)[..., -2:], axis=-1) == np.sort(
                np.stack([np.full(n, digit), partner], -1), axis=-1)
            score = np.where(looks_like_digit & both_on_top.all(-1), -np.abs(p_source - p_partner), -np.inf)
        best = np.where(np.isfinite(score.max(axis=0)), score.argmax(axis=0), len(ts) // 2)
    return Muddled(path[best, np.arange(n)].astype(np.float32), np.full(n, digit), partner, x[a], x[b], ts[best])


def judge(classifier: keras.Model, muddled: Muddled) -> dict[str, float]:
    """How the classifier sees originals and muddled digits.

    ``two_label_share``: the share of muddled digits whose two most likely classes are exactly
    the source digit and its partner.
    """
    p_orig = classifier.predict(muddled.originals[..., None], verbose=0)
    p_mud = classifier.predict(muddled.images[..., None], verbose=0)
    top2 = np.sort(np.argsort(p_mud, axis=1)[:, -2:], axis=1)
    pair = np.sort(np.stack([muddled.source, muddled.partner], 1), axis=1)
    return {"mean_top_confidence_original": float(p_orig.max(1).mean()),
            "mean_top_confidence_muddled": float(p_mud.max(1).mean()),
            "two_label_share": float((top2 == pair).all(1).mean())}


SHIPPED_NAME = "autoencoder"


def load_shipped_autoencoder() -> keras.Model:
    """The auto-encoder shipped in ``mnistsum/weights/autoencoder.keras``."""
    from mnistsum.zoo import load_shipped

    return load_shipped(SHIPPED_NAME)


def muddle_test_digits(digit: int, n: int, seed: int, method: str = "balanced") -> tuple[Muddled, dict[str, float]]:
    """Muddle ``n`` MNIST *test* digits of class ``digit`` with the shipped auto-encoder (see :func:`muddle`
    for the ``method``), and judge them with the shipped digit classifier.

    Class means come from the latent vectors of the 50,000 training digits.
    """
    from mnistsum.classifier import load_digit_data
    from mnistsum.data import load_mnist
    from mnistsum.zoo import load_shipped

    ae, classifier = load_shipped_autoencoder(), load_shipped("digit-classifier")
    encoder, decoder = ae.get_layer("encoder"), ae.get_layer("decoder")
    data = load_digit_data()
    means = class_means(encoder.predict(data.x_train, batch_size=512, verbose=0), data.y_train)
    (_, _), (x_test, y_test) = load_mnist()
    muddled = muddle(encoder, decoder, x_test, y_test, means, digit, n, seed, method, classifier)
    return muddled, judge(classifier, muddled)
