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

import functools
from dataclasses import dataclass

import keras
import numpy as np

from mnistsum.analysis import class_means
from mnistsum.data import to_unit_floats

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


def train_autoencoder(epochs: int | None = None, callbacks: list | None = None, verbose: int | str = "auto"):
    """Fit :func:`build_autoencoder` on the 50,000 training digits (validation: the next 10,000), batch 128,
    for ``epochs`` (default 10; quick mode: 1 epoch of 512 digits).

    Returns ``(model, history dict)``.
    """
    from mnistsum.classifier import load_digit_data
    from mnistsum.quick import pick

    data = load_digit_data()
    n = pick(full=len(data.x_train), quick=512)
    model = build_autoencoder()
    history = model.fit(data.x_train[:n], data.x_train[:n], batch_size=128, epochs=epochs or pick(full=10, quick=1),
                        validation_data=(data.x_val[: n // 5], data.x_val[: n // 5]), callbacks=callbacks or [],
                        verbose=verbose)
    return model, history.history


def _distances(points: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Euclidean distance of every point (N, ...) to every class mean (C, ...): (N, C)."""
    points, means = np.asarray(points, float), np.asarray(means, float)
    return np.linalg.norm(points.reshape(len(points), 1, -1) - means.reshape(1, len(means), -1), axis=-1)


def nearest_class(points: np.ndarray, means: np.ndarray) -> np.ndarray:
    """The class whose mean is nearest to each point (latent vectors, or images and image means).

    >>> nearest_class(np.array([[0.1, 0.0], [4, 4]]), np.array([[0.0, 0], [1, 0], [5, 5]])).tolist()
    [0, 2]
    """
    return _distances(points, means).argmin(axis=1)


def nearest_other_class(latents: np.ndarray, labels: np.ndarray, means: np.ndarray) -> np.ndarray:
    """For each latent vector, the class whose mean is nearest, its own class excluded.

    >>> nearest_other_class(np.array([[0.1, 0.0]]), np.array([0]), np.array([[0.0, 0], [1, 0], [5, 5]])).tolist()
    [1]
    """
    distance = _distances(latents, means)
    distance[np.arange(len(labels)), labels] = np.inf
    return distance.argmin(axis=1)


def decode_path(decoder: keras.Model, l1: np.ndarray, l2: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Decode the points ``(1 - t) l1 + t l2`` for every ``t``: ``(T, N, 28, 28)`` for latents ``(N, D)``."""
    l1, l2, ts = np.atleast_2d(l1), np.atleast_2d(l2), np.asarray(ts, np.float32)
    points = (1 - ts[:, None, None]) * l1 + ts[:, None, None] * l2
    return decoder.predict(points.reshape(-1, l1.shape[1]), verbose=0).reshape(len(ts), len(l1), 28, 28)


@dataclass
class Muddled:
    """Muddled digits with where they came from."""

    images: np.ndarray  # (N, 28, 28) float32 in [0, 1]
    source: np.ndarray  # (N,) the label of digit a, the "true" label
    partner: np.ndarray  # (N,) the nearest other class, the label of digit b
    originals: np.ndarray  # (N, 28, 28) digit a
    partners: np.ndarray  # (N, 28, 28) digit b
    t: np.ndarray  # (N,) where on the path from a (0) to b (1) the muddled digit was decoded


METHODS = ("average", "farthest", "equidistant", "balanced")
#: partners *b* tried per digit *a* by the path methods in the course (the command line, notebook 10, the stress test)
TRIES = 5


def muddle(encoder: keras.Model, decoder: keras.Model, digits: np.ndarray, labels: np.ndarray, means: np.ndarray,
           digit: int, n: int, seed: int, method: str = "average", classifier: keras.Model | None = None,
           steps: int = 21, min_top2: float = 0.9, tries: int = 1) -> Muddled:
    """``n`` muddled versions of random digits of class ``digit`` (from ``digits``, uint8 or [0, 1]).

    Digit *a* (latent ``l1``) is paired with a random digit *b* (latent ``l2``) of the class whose mean is
    nearest to ``l1``. Then, by ``method``:

    - ``"average"``: decode ``(l1 + l2) / 2``;
    - ``"farthest"`` (the method as first proposed): decode ``steps`` points from ``l1`` to ``l2`` and keep
      the one with the largest ``mse(o, a) + mse(o, b)`` among those that look like a digit: the
      ``classifier``'s two most likely classes hold at least ``min_top2`` of the probability. Beware: for
      a blend ``o = (1 - t) a + t b`` that sum is ``(t² + (1 - t)²) mse(a, b)``, largest at the *ends*;
    - ``"equidistant"``: the same, with the *smaller* of the two distances, ``min(mse(o, a), mse(o, b))``,
      which is largest where ``o`` is as far from ``a`` as from ``b``;
    - ``"balanced"``: among the points that look like a digit *and* whose two most likely classes are
      the source and the partner, keep the one where the classifier is most torn
      (smallest ``|p(source) - p(partner)|``); where there is none, the point that looks like a digit
      where the classifier is least sure. It asks the judge itself, so the judge's verdict on its
      digits is optimistic: get a second opinion (:class:`mnistsum.detector.WindowClassifier`).

    With ``tries`` > 1 (not for ``"average"``), each *a* gets that many random partners *b* of the same
    class and the best point over all their paths is kept. Where no point qualifies, the midpoint (of the
    first *b*) is kept. ``tries=1`` is the method as described; the course uses :data:`TRIES`.
    """
    if not 0 <= digit <= 9:
        raise ValueError(f"digit={digit}: it must be 0-9.")
    if n < 1:
        raise ValueError(f"n={n}: ask for at least one digit.")
    if method not in METHODS or (method != "average" and classifier is None):
        raise ValueError(f"method={method!r}: use one of {METHODS}; all but 'average' need a classifier.")
    if tries < 1:
        raise ValueError(f"tries={tries}: try at least one partner digit.")
    x = to_unit_floats(digits)
    rng = np.random.default_rng(seed)
    a = rng.choice(np.flatnonzero(labels == digit), n)
    l1 = encoder.predict(x[a][..., None], verbose=0)
    partner = nearest_other_class(l1, np.full(n, digit), means)
    tries = 1 if method == "average" else tries
    b = np.array([[rng.choice(np.flatnonzero(labels == p)) for p in partner] for _ in range(tries)])  # (tries, n)
    l2 = encoder.predict(x[b.ravel()][..., None], verbose=0)
    ts = np.array([0.5]) if method == "average" else np.linspace(0.0, 1.0, steps)
    path = decode_path(decoder, np.tile(l1, (tries, 1)), l2, ts).reshape(len(ts), tries, n, 28, 28)
    choice = np.zeros(n, int)  # index into the (t, try) grid of each digit's candidates
    if method != "average":
        p = classifier.predict(path.reshape(-1, 28, 28, 1), verbose=0).reshape(len(ts), tries, n, -1)
        looks_like_digit = np.sort(p, axis=-1)[..., -2:].sum(-1) >= min_top2
        if method in ("farthest", "equidistant"):
            to_a, to_b = ((path - x[a]) ** 2).mean(axis=(3, 4)), ((path - x[b]) ** 2).mean(axis=(3, 4))
            score = np.where(looks_like_digit, to_a + to_b if method == "farthest" else np.minimum(to_a, to_b), -np.inf)
        else:
            p_source, p_partner = p[:, :, np.arange(n), digit], p[:, :, np.arange(n), partner]
            both_on_top = pair_on_top(p, digit, partner)
            # the most torn point with the right pair on top (scores in [-1, 0]); failing that, the point
            # that looks like a digit where the classifier is least sure (scores in [-2, -1))
            score = np.where(looks_like_digit & both_on_top, -np.abs(p_source - p_partner),
                             np.where(looks_like_digit, -1.0 - p.max(axis=-1), -np.inf))
        score = score.reshape(-1, n)
        choice = np.where(np.isfinite(score.max(axis=0)), score.argmax(axis=0), (len(ts) // 2) * tries)
    t_index, k = np.divmod(choice, tries)
    cols = np.arange(n)
    return Muddled(path[t_index, k, cols].astype(np.float32), np.full(n, digit), partner, x[a], x[b[k, cols]],
                   ts[t_index])


def judge(classifier: keras.Model, muddled: Muddled) -> dict[str, float]:
    """How the classifier sees originals and muddled digits, and where on the path they lie (``mean_t``;
    ``share_at_an_end``: decoded at *a* or *b* itself, t = 0 or 1, which is no muddle at all).

    ``two_label_share``: the share of muddled digits whose two most likely classes are exactly
    the source digit and its partner.
    """
    p_orig = classifier.predict(muddled.originals[..., None], verbose=0)
    p_mud = classifier.predict(muddled.images[..., None], verbose=0)
    return {"mean_top_confidence_original": float(p_orig.max(1).mean()),
            "mean_top_confidence_muddled": float(p_mud.max(1).mean()),
            "two_label_share": float(pair_on_top(p_mud, muddled.source, muddled.partner).mean()),
            "mean_t": float(np.mean(muddled.t)),
            "share_at_an_end": float(np.isin(muddled.t, (0.0, 1.0)).mean())}


def top_two(probabilities: np.ndarray) -> np.ndarray:
    """The two most likely classes of each row, smaller label first: ``(N, 2)``.

    >>> top_two(np.array([[0.1, 0.5, 0.4], [0.7, 0.1, 0.2]])).tolist()
    [[1, 2], [0, 2]]
    """
    return np.sort(np.argsort(probabilities, axis=-1)[..., -2:], axis=-1)


def pair_on_top(probabilities: np.ndarray, source, partner) -> np.ndarray:
    """Whether the two most likely classes of each row are exactly ``source`` and ``partner``, in either order
    (labels broadcast against the rows).

    >>> pair_on_top(np.array([[0.1, 0.5, 0.4], [0.7, 0.1, 0.2]]), 2, np.array([1, 1])).tolist()
    [True, False]
    """
    pair = np.sort(np.stack(np.broadcast_arrays(source, partner), axis=-1), axis=-1)
    return (top_two(probabilities) == pair).all(axis=-1)


def suspicious_labels(probabilities: np.ndarray, labels: np.ndarray, below: float = 0.01) -> np.ndarray:
    """Indices of the digits whose label the classifier gives less than ``below``, least likely first:
    candidates for label noise (or for the classifier's own mistakes; look at them).

    >>> suspicious_labels(np.array([[0.9, 0.1], [0.001, 0.999], [0.5, 0.5]]), np.array([0, 0, 1])).tolist()
    [1]
    """
    p_label = np.asarray(probabilities)[np.arange(len(labels)), labels]
    flagged = np.flatnonzero(p_label < below)
    return flagged[np.argsort(p_label[flagged], kind="stable")]


SHIPPED_NAME = "autoencoder"


def load_shipped_autoencoder() -> keras.Model:
    """The auto-encoder shipped in ``mnistsum/weights/autoencoder.keras``."""
    from mnistsum.zoo import load_shipped

    return load_shipped(SHIPPED_NAME)


@functools.lru_cache(maxsize=1)
def shipped_muddler() -> tuple[keras.Model, keras.Model, keras.Model, np.ndarray]:
    """``(encoder, decoder, classifier, class means)`` from the shipped auto-encoder and digit classifier.

    The class means are those of the latent vectors of the 50,000 training digits. Cached: encoding
    them takes a few seconds.
    """
    from mnistsum.classifier import load_digit_data
    from mnistsum.zoo import load_shipped

    ae, classifier = load_shipped_autoencoder(), load_shipped("digit-classifier")
    encoder, decoder = ae.get_layer("encoder"), ae.get_layer("decoder")
    data = load_digit_data()
    return encoder, decoder, classifier, class_means(encoder.predict(data.x_train, batch_size=512, verbose=0),
                                                     data.y_train)


def judge_methods(digits: np.ndarray, labels: np.ndarray, n: int, seed: int = 0, methods: tuple[str, ...] = METHODS,
                  tries: int = TRIES, judge_with=None, classes=range(10)) -> dict[str, dict[int, dict[str, float]]]:
    """Muddle ``n`` digits of each of ``classes`` by every method with the shipped models, and :func:`judge` them
    (with ``judge_with``, default the shipped digit classifier): ``{method: {digit: scores}}``. Digit ``d`` uses
    seed ``seed + d``, so all methods start from the same digits *a*."""
    encoder, decoder, classifier, means = shipped_muddler()
    return {method: {d: judge(judge_with or classifier, muddle(encoder, decoder, digits, labels, means, d, n, seed + d,
                                                               method, classifier, tries=tries))
                     for d in classes} for method in methods}


def methods_table(scores: dict[str, dict[int, dict[str, float]]]) -> str:
    """A Markdown table of :func:`judge_methods`: per digit and method, the muddled digits' mean top
    confidence and their two-label share; the last row averages over the digits.

    >>> print(methods_table({"average": {3: {"mean_top_confidence_muddled": 0.76, "two_label_share": 0.56}}}))
    | digit | average: top conf. | average: two-label |
    |---|---|---|
    | 3 | 0.76 | 0.56 |
    | mean | 0.76 | 0.56 |
    """
    methods = list(scores)
    digits = list(scores[methods[0]])
    keys = ("mean_top_confidence_muddled", "two_label_share")
    header = "| digit | " + " | ".join(f"{m}: {what}" for m in methods for what in ("top conf.", "two-label")) + " |"
    rows = [header, "|---|" + "---|" * 2 * len(methods)]
    for d in digits:
        rows.append(f"| {d} | " + " | ".join(f"{scores[m][d][k]:.2f}" for m in methods for k in keys) + " |")
    rows.append("| mean | " + " | ".join(f"{np.mean([scores[m][d][k] for d in digits]):.2f}"
                                          for m in methods for k in keys) + " |")
    return "\n".join(rows)


def muddle_test_digits(digit: int, n: int, seed: int, method: str = "balanced",
                       tries: int = TRIES) -> tuple[Muddled, dict[str, float]]:
    """Muddle ``n`` MNIST *test* digits of class ``digit`` with the shipped auto-encoder (see :func:`muddle`
    for the ``method``), and judge them with the shipped digit classifier."""
    from mnistsum.data import load_mnist

    encoder, decoder, classifier, means = shipped_muddler()
    (_, _), (x_test, y_test) = load_mnist()
    muddled = muddle(encoder, decoder, x_test, y_test, means, digit, n, seed, method, classifier, tries=tries)
    return muddled, judge(classifier, muddled)
