"""The course's best model: a fully convolutional digit detector (notebook 09).

The idea is the digit classifier of notebook 06 made *fully convolutional*:

* a small CNN looks at one 28×28 window and says "background" or which digit
  sits in it (11 classes). Its last "dense" layer is a 4×4 convolution, so the
  same network slid over a 128×128 canvas gives a 26×26 grid of class
  probabilities, one per window at a stride of 4 pixels: a CenterNet-style
  heatmap, computed in one pass;
* it is trained on windows cut from generated canvases at the generator's boxes:
  a digit within 2 pixels of the window counts as that digit, windows 4 or more
  pixels away from every digit are background, and 3 pixels is left out
  (neither answer is wrong there);
* at test time, a cell is a detection when its digit probability is the largest
  in its 7×7 neighbourhood (non-maximum suppression; two digits never share one,
  since they cannot overlap) and above 0.5; the sum is the sum of the detected
  digits.

Training runs in two phases (:class:`DetectorRecipe`): first on windows, which
spends the compute on the digits and the hard places around them; then on whole
canvases with every cell labelled (:func:`mnistsum.grid.grid_labels`), which teaches the
network to stay silent on the hundreds of background windows of a canvas.

>>> model = build_detector()
>>> model.count_params()
198187
>>> tuple(model(np.zeros((1, 128, 128, 1), np.float32)).shape)
(1, 26, 26, 11)
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from mnistsum.analysis import MisreadDigits, misread_digits
from mnistsum.augment import DigitAugment
from mnistsum.data import to_unit_floats
from mnistsum.generator import PATCH, CanvasBatch, CanvasConfig, Pools, iter_batches
from mnistsum.grid import (BACKGROUND, N_CLASSES, NEGATIVE_SHIFT, NMS_CELLS, POSITIVE_SHIFT,
                           STRIDE, grid_targets, window_labels)
from mnistsum.keras_data import CanvasDataset
from mnistsum.metrics import sum_accuracy
from mnistsum.training import cosine_over_epochs


def build_detector(width: int = 32, learning_rate: float = 1e-3) -> keras.Model:
    """The window classifier, fully convolutional: any canvas size in, a class grid out.

    A 28×28 input gives a 1×1×11 output; a 128×128 canvas gives 26×26×11.
    """
    inputs = keras.Input((None, None, 1), name="canvas")
    x = keras.layers.Dropout(0.3, name="dropout")(window_features(inputs, width))
    outputs = keras.layers.Conv2D(N_CLASSES, 1, activation="softmax", name="classes")(x)
    return compile_detector(keras.Model(inputs, outputs, name="detector"), learning_rate)


def window_features(inputs, width: int = 32):
    """The window classifier's body: ``4 * width`` features of every 28×28 window at a stride of 4 pixels.

    Four 3×3 convolutions with batch norm, two 2×2 max-pools, then a 4×4 "dense" convolution that
    sees the whole window (28 -> 26 -> 24 -> 12 -> 10 -> 8 -> 4 -> 1).
    """
    x = inputs
    for i, (filters, pool) in enumerate(((width, False), (width, True), (2 * width, False), (2 * width, True))):
        x = keras.layers.Conv2D(filters, 3, use_bias=False, name=f"conv{i + 1}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{i + 1}")(x)
        x = keras.layers.ReLU(name=f"relu{i + 1}")(x)
        if pool:
            x = keras.layers.MaxPooling2D(2, name=f"pool{i // 2 + 1}")(x)
    return keras.layers.Conv2D(4 * width, 4, activation="relu", name="dense")(x)


def every_two_pixels_across(detector: keras.Model, canvas_size: int = CanvasConfig.canvas_size) -> keras.Model:
    """The ``detector`` read every 2 pixels across and 4 down: canvases ``(size, size, 1)`` in, a grid of
    ``(G, 2G - 1, 11)`` out, its column ``c`` the window with left edge ``2c`` (*shift-and-stitch*).

    Its windows at odd columns are those of the canvas moved 2 pixels left, but nothing is computed twice:
    everything before the second 2×2 pooling sees the canvas at a stride of 2 pixels already, so only that
    pooling, the 4×4 "dense" convolution and the classes run a second time, one column (2 pixels) over.
    Its layers are the detector's own (a reading aid, not a new model).

    >>> grid = every_two_pixels_across(build_detector(width=8))
    >>> tuple(grid(np.zeros((1, 128, 128, 1), np.float32)).shape)
    (1, 26, 51, 11)
    """
    inputs = keras.Input((canvas_size, canvas_size, 1), name="canvas")
    x = inputs
    for layer in detector.layers[1:]:  # after its input, up to the second pooling, which sets the 4-pixel stride
        if layer.name == "pool2":
            break
        x = layer(x)

    def read(features):  # the detector's last layers; its dropout is idle when reading
        for name in ("pool2", "dense", "classes"):
            features = detector.get_layer(name)(features)
        return features

    even = read(x)  # windows at 0, 4, 8, ... pixels
    odd = read(keras.layers.Cropping2D(((0, 0), (1, 0)), name="two_pixels_on")(x))  # 2, 6, 10, ...
    rows, columns = even.shape[1], even.shape[2]
    pairs = keras.layers.Concatenate(name="pairs")(
        [keras.layers.Cropping2D(((0, 0), (0, 1)), name="even_but_last")(even), odd])
    interleaved = keras.layers.Reshape((rows, 2 * (columns - 1), N_CLASSES), name="interleaved")(pairs)
    last = keras.layers.Cropping2D(((0, 0), (columns - 1, 0)), name="last_column")(even)
    outputs = keras.layers.Concatenate(axis=2, name="columns")([interleaved, last])
    return keras.Model(inputs, outputs, name="detector_every_two_pixels")


def compile_detector(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Compile ``model`` for training with a fresh Adam: a new detector, or shipped weights trained further."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def windows_from(batch: CanvasBatch, rng: np.random.Generator, hard_negatives: int = 4,
                 random_windows: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Cut labelled 28×28 training windows out of ``batch``.

    Per canvas: one window per digit, shifted by up to :data:`POSITIVE_SHIFT`;
    ``hard_negatives`` windows 4 to 12 pixels off a digit (partial digits, the hard
    background); ``random_windows`` anywhere. Returns ``(windows (M, 28, 28, 1), labels (M,))``
    (labels shaped (M, 1, 1) like the model's output grid), with left-out windows dropped.
    """
    n, size = len(batch), batch.images.shape[1]
    last = size - PATCH
    canvas_d, slot = np.nonzero(batch.digits >= 0)
    pos_y = batch.boxes[canvas_d, slot, 1] + rng.integers(-POSITIVE_SHIFT, POSITIVE_SHIFT + 1, len(slot))
    pos_x = batch.boxes[canvas_d, slot, 0] + rng.integers(-POSITIVE_SHIFT, POSITIVE_SHIFT + 1, len(slot))
    pick = rng.integers(0, len(slot), hard_negatives * n) if len(slot) else np.zeros(0, int)
    offset = rng.integers(NEGATIVE_SHIFT, 13, (2, len(pick))) * rng.choice([-1, 1], (2, len(pick)))
    offset[rng.integers(0, 2, len(pick)), np.arange(len(pick))] = rng.integers(-12, 13, len(pick))
    hard_y = batch.boxes[canvas_d[pick], slot[pick], 1] + offset[0]
    hard_x = batch.boxes[canvas_d[pick], slot[pick], 0] + offset[1]
    rand = rng.integers(0, last + 1, (2, random_windows * n))
    canvas = np.concatenate([canvas_d, canvas_d[pick], np.repeat(np.arange(n), random_windows)])
    y = np.clip(np.concatenate([pos_y, hard_y, rand[0]]), 0, last)
    x = np.clip(np.concatenate([pos_x, hard_x, rand[1]]), 0, last)
    labels = window_labels(batch, canvas, y, x)
    keep = labels >= 0
    views = np.lib.stride_tricks.sliding_window_view(batch.images[..., 0], (PATCH, PATCH), axis=(1, 2))
    return views[canvas[keep], y[keep], x[keep]][..., None], labels[keep].astype(np.int32)[:, None, None]


class WindowDataset(CanvasDataset):
    """Training windows cut from fresh canvases: ``canvases_per_batch`` canvases per batch.

    The canvases are :class:`CanvasDataset`'s (batch *i* of epoch *e* holds canvases
    ``[k, k + canvases_per_batch)`` of stream ``seed``, ``k = (e * batches + i) * canvases_per_batch``),
    and the window offsets come from a generator seeded by ``(seed, k)``, so a run is repeatable.
    The number of windows varies from batch to batch; ``multiple_of`` (the number of devices
    training in parallel) drops the last few so that every device gets the same share.
    """

    def __init__(self, config: CanvasConfig, seed: int, batches: int, canvases_per_batch: int = 16,
                 fresh_each_epoch: bool = True, multiple_of: int = 1, **pydataset_kwargs):
        if batches < 1 or canvases_per_batch < 1:
            raise ValueError(f"need batches >= 1 and canvases_per_batch >= 1, got {batches}, {canvases_per_batch}.")
        super().__init__(config, seed, batches * canvases_per_batch, canvases_per_batch,
                         fresh_each_epoch=fresh_each_epoch, **pydataset_kwargs)
        self.multiple_of = multiple_of

    def __getitem__(self, index: int):
        batch = self.batch(index)
        windows, labels = windows_from(batch, np.random.default_rng([self.seed, int(batch.indices[0])]))
        keep = len(labels) - len(labels) % self.multiple_of
        return windows[:keep], labels[:keep]


@dataclass
class Detections:
    """What the detector found on each canvas: up to ``max_found`` digits, -1 padded."""

    digits: np.ndarray  # (N, K) int32
    boxes: np.ndarray  # (N, K, 4) int32, (x0, y0, x1, y1) of the window
    scores: np.ndarray  # (N, K) float32, probability that a digit is there
    #: (N, K) float32, probability of the digit read, given that a digit is there (0 where padded)
    confidence: np.ndarray | None = None

    @property
    def sums(self) -> np.ndarray:
        return np.where(self.digits >= 0, self.digits, 0).sum(axis=1)

    @property
    def counts(self) -> np.ndarray:
        return (self.digits >= 0).sum(axis=1)


def decode(probabilities: np.ndarray, threshold: float = 0.5, max_found: int = 8) -> Detections:
    """Turn class grids ``(N, H, W, 11)`` into detections by non-maximum suppression.

    A cell is kept when its digit probability ``1 - p(background)`` exceeds
    ``threshold`` and is the largest within :data:`NMS_CELLS` cells each way.
    Cells are ranked by ``p(background)`` itself, which keeps its precision where
    ``1 - p(background)`` rounds to 1.0, and an exact tie goes to the cell first
    in reading order: a sure detector often gives two neighbouring cells
    ``p(background) = 0``, and both must not count.

    >>> grid = np.zeros((1, 5, 5, 11), np.float32); grid[..., BACKGROUND] = 1
    >>> grid[0, 2, 3] = 0; grid[0, 2, 3, 7] = 0.9; grid[0, 2, 3, BACKGROUND] = 0.1
    >>> found = decode(grid)
    >>> found.digits[0, :2].tolist(), found.boxes[0, 0].tolist(), found.sums.tolist()
    ([7, -1], [12, 8, 40, 36], [7])
    """
    p = np.asarray(probabilities, np.float32)
    if p.ndim != 4 or p.shape[-1] != N_CLASSES:
        raise ValueError(f"probabilities must have shape (N, H, W, {N_CLASSES}), got {p.shape}.")
    score = 1.0 - p[..., BACKGROUND]
    rank = -p[..., BACKGROUND]  # orders cells like score, without its rounding to 1.0
    k = NMS_CELLS
    padded = np.pad(rank, ((0, 0), (k, k), (k, k)), constant_values=-np.inf)
    window = np.lib.stride_tricks.sliding_window_view(padded, (2 * k + 1, 2 * k + 1), axis=(1, 2))
    position = np.arange((2 * k + 1) ** 2).reshape(2 * k + 1, 2 * k + 1) - (2 * k + 1) ** 2 // 2
    before = np.where(position < 0, window, -np.inf).max(axis=(-1, -2))  # neighbours earlier in reading order
    after = np.where(position > 0, window, -np.inf).max(axis=(-1, -2))
    peak = (rank > before) & (rank >= after) & (score > threshold)
    n, h, w = score.shape
    flat = np.where(peak, rank, -np.inf).reshape(n, -1)
    order = np.argsort(-flat, axis=1, kind="stable")[:, :max_found]
    found = np.isfinite(np.take_along_axis(flat, order, axis=1))
    cy, cx = np.divmod(order, w)
    digit = p[..., :BACKGROUND].argmax(-1).reshape(n, -1)
    digits = np.where(found, np.take_along_axis(digit, order, axis=1), -1).astype(np.int32)
    x0, y0 = cx * STRIDE, cy * STRIDE
    boxes = np.where(found[..., None], np.stack([x0, y0, x0 + PATCH, y0 + PATCH], -1), -1).astype(np.int32)
    scores = np.where(found, np.take_along_axis(score.reshape(n, -1), order, axis=1), 0.0).astype(np.float32)
    digit_p = p[..., :BACKGROUND].reshape(n, h * w, BACKGROUND)
    chosen = np.take_along_axis(digit_p, order[..., None], axis=1)  # (N, K, 10)
    confidence = np.where(found, chosen.max(-1) / np.maximum(chosen.sum(-1), 1e-12), 0.0).astype(np.float32)
    return Detections(digits, boxes, scores, confidence)


def detect(model: keras.Model, images: np.ndarray, batch_size: int = 64, threshold: float = 0.5) -> Detections:
    """Run the detector over canvases ``(N, H, W, 1)`` and decode its grid."""
    return decode(model.predict(images, batch_size=batch_size, verbose=0), threshold)


class WindowClassifier:
    """The detector as a classifier of single 28×28 digits: a second opinion, independent of notebook 06's.

    Each digit (uint8, or floats in [0, 1]) is drawn as the generator draws it on a canvas (ink 0.8, noise
    U(0, 0.2), seeded), and the detector's one grid cell gives the probability of each digit *given that a
    digit is there*. ``predict`` mirrors Keras's, so :func:`mnistsum.autoencoder.judge` takes it.
    """

    def __init__(self, detector: keras.Model, seed: int = 0, ink: float = CanvasConfig.ink,
                 noise: float = CanvasConfig.noise):
        self.detector, self.seed, self.ink, self.noise = detector, seed, ink, noise

    def predict(self, digits: np.ndarray, verbose: int = 0, batch_size: int = 256) -> np.ndarray:
        x = to_unit_floats(digits).reshape(len(digits), PATCH, PATCH)
        noise = np.random.default_rng(self.seed).uniform(0.0, self.noise, x.shape).astype(np.float32)
        p = self.detector.predict((x * self.ink + noise)[..., None], batch_size=batch_size, verbose=0)
        digit_p = p.reshape(len(x), N_CLASSES)[:, :BACKGROUND]
        return digit_p / np.maximum(digit_p.sum(axis=1, keepdims=True), 1e-12)


def predict_sums(model: keras.Model, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """The sum of the detected digits of each canvas."""
    return detect(model, images, batch_size).sums


class GridDataset(CanvasDataset):
    """Whole canvases with the label of every grid cell, and weight 0 on the cells left out."""

    def __getitem__(self, index: int):
        batch = self.batch(index)
        return (batch.images, *grid_targets(batch))


@dataclass(frozen=True)
class DetectorRecipe:
    """Two phases, both on fresh ``train`` canvases.

    1. ``window_epochs`` epochs of ``window_batches`` batches of windows, each batch cut from
       ``canvases_per_batch`` canvases, at a constant learning rate: the network learns the digits;
    2. ``grid_epochs`` epochs of ``grid_images`` whole canvases (batch ``grid_batch_size``), every
       cell labelled, with a cosine-decayed learning rate: it learns to stay silent everywhere else.
    """

    window_epochs: int = 7
    window_batches: int = 400
    canvases_per_batch: int = 16
    grid_epochs: int = 12
    grid_images: int = 2_000
    grid_batch_size: int = 16
    learning_rate: float = 1e-3

    def __post_init__(self) -> None:
        for field in ("window_epochs", "grid_epochs"):
            if getattr(self, field) < 0:
                raise ValueError(f"DetectorRecipe.{field}={getattr(self, field)} is invalid: it must be >= 0.")
        for field in ("window_batches", "canvases_per_batch", "grid_images", "grid_batch_size"):
            if getattr(self, field) < 1:
                raise ValueError(f"DetectorRecipe.{field}={getattr(self, field)} is invalid: it must be >= 1.")

    @property
    def images_seen(self) -> int:
        """Canvases seen in both phases."""
        return self.window_epochs * self.window_batches * self.canvases_per_batch + self.grid_epochs * self.grid_images


def train_detector(model: keras.Model, recipe: DetectorRecipe, callbacks: list | None = None,
                   verbose: int | str = "auto", seed: int = 1) -> dict[str, list[float]]:
    """Run both phases of ``recipe``; return the history of all epochs (``phase`` says which).

    Validation uses fixed ``val`` canvases (MNIST digits the training never sees): windows in
    phase 1, whole canvases in phase 2.
    """
    history: dict[str, list[float]] = {}
    devices = model.distribute_strategy.num_replicas_in_sync

    def record(h: keras.callbacks.History, phase: int) -> None:
        for key, values in h.history.items():
            history.setdefault(key, []).extend(float(v) for v in values)
        history.setdefault("phase", []).extend([phase] * len(h.history.get("loss", [])))

    if recipe.window_epochs:
        model.optimizer.learning_rate = recipe.learning_rate
        train = WindowDataset(CanvasConfig(split="train"), seed, recipe.window_batches, recipe.canvases_per_batch,
                              multiple_of=devices)
        val = WindowDataset(CanvasConfig(split="val"), seed + 1, max(1, recipe.window_batches // 10),
                            recipe.canvases_per_batch, fresh_each_epoch=False, multiple_of=devices)
        record(model.fit(train, validation_data=val, epochs=recipe.window_epochs, callbacks=callbacks or [],
                         verbose=verbose), 1)
    if recipe.grid_epochs:
        model.optimizer.learning_rate = cosine_over_epochs(recipe.learning_rate, recipe.grid_epochs,
                                                           recipe.grid_images, recipe.grid_batch_size, alpha=0.01)
        # phase 2 draws its canvases from a stream of its own (seed + 1000)
        train = GridDataset(CanvasConfig(split="train"), seed + 1000, recipe.grid_images, recipe.grid_batch_size,
                            fresh_each_epoch=True)
        val = GridDataset(CanvasConfig(split="val"), seed + 1001, max(recipe.grid_batch_size, recipe.grid_images // 10),
                          recipe.grid_batch_size)
        record(model.fit(train, validation_data=val, epochs=recipe.grid_epochs, callbacks=callbacks or [],
                         verbose=verbose), 2)
    return history


def train_detector_for(model: keras.Model, seconds: float, learning_rate: float = 6e-4, batch_size: int = 256,
                       images_per_epoch: int = 200_000, seed: int = 1, workers: int = 1, val_images: int = 2_000,
                       augment: DigitAugment | None = None, flip_clutter: bool = False,
                       log=print) -> dict[str, list[float]]:
    """Train the whole-canvas phase for ``seconds`` of wall time, with a cosine over that time.

    For a machine whose speed is not known in advance (a lent GPU): the learning rate follows
    :func:`~mnistsum.timed.time_cosine` of the time spent, not of the steps taken
    (:func:`~mnistsum.timed.train_for`). The canvases are fresh ones of stream ``seed + 1000`` (as in
    :func:`train_detector`), made by ``workers`` processes (:func:`mnistsum.feed.canvas_batches`),
    their digits drawn from ``augment``'s pool (a :class:`~mnistsum.augment.DigitAugment`) when given, their
    clothes flipped four ways with ``flip_clutter`` (:func:`~mnistsum.augment.flipped_clutter`).
    Every ``images_per_epoch`` canvases, and at the end, the loss on ``val_images`` fixed ``val``
    canvases (stream ``seed + 1001``) is logged. Returns the history, one entry per epoch (the last
    may be partial): ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``learning_rate``,
    ``images``, ``epoch_seconds`` and ``phase`` (2, as in :func:`train_detector`).
    """
    from mnistsum.feed import canvas_batches, fixed_batches
    from mnistsum.timed import Stage, train_for

    stage = Stage(1.0, 2, lambda: canvas_batches(CanvasConfig(split="train"), seed + 1000, batch_size,
                                                 workers=workers, augment=augment, flip_clutter=flip_clutter))
    val = fixed_batches(CanvasConfig(split="val"), seed + 1001, val_images, batch_size)
    return train_for(model, seconds, learning_rate, [stage], val, images_per_epoch, batch_size, log)


def match(found: Detections, digits: np.ndarray, boxes: np.ndarray, tolerance: int = 3) -> np.ndarray:
    """For every true digit ``(N, D)``, the label of the detection within ``tolerance`` pixels of its box
    (-1: none; -2: no digit in that slot). Two detections can never both match one digit: they would be
    closer than the non-maximum suppression allows.
    """
    dx = np.abs(found.boxes[:, None, :, 0] - boxes[:, :, None, 0])
    dy = np.abs(found.boxes[:, None, :, 1] - boxes[:, :, None, 1])
    near = (np.maximum(dx, dy) <= tolerance) & (found.digits[:, None, :] >= 0)  # (N, D, K)
    label = np.where(near.any(-1), np.take_along_axis(found.digits[:, None, :].repeat(near.shape[1], 1),
                                                      near.argmax(-1)[..., None], -1)[..., 0], -1)
    return np.where(digits >= 0, label, -2)


@dataclass
class DetectionReport:
    """Detections on a set of canvases, matched to the generator's annotations."""

    sums: np.ndarray  # (N,) true sums
    predicted: np.ndarray  # (N,) sums of the detections
    digits: np.ndarray  # (N, D) true digits, -1 padded
    matched: np.ndarray  # (N, D) label of the matching detection, -1 none, -2 no digit
    n_found: np.ndarray  # (N,) number of detections
    digit_ids: np.ndarray | None = None  # (N, D) which MNIST digit each true digit is (CanvasBatch.digit_ids)

    @property
    def n_digits(self) -> np.ndarray:
        return (self.digits >= 0).sum(axis=1)

    def sum_accuracy(self) -> float:
        return sum_accuracy(self.sums, self.predicted)

    def count_accuracy(self) -> float:
        return float((self.n_found == self.n_digits).mean())

    def per_digit_accuracy(self) -> float:
        """Share of true digits found at the right place with the right label."""
        real = self.digits >= 0
        return float((self.matched[real] == self.digits[real]).mean())

    def errors(self) -> dict[str, int]:
        """Counts of each kind of mistake over all canvases."""
        real = self.digits >= 0
        found_real = ((self.matched >= 0) & real).sum(axis=1)
        return {"wrong label": int(((self.matched >= 0) & (self.matched != self.digits) & real).sum()),
                "missed": int(((self.matched == -1) & real).sum()),
                "extra": int((self.n_found - found_real).sum())}

    def misread(self) -> MisreadDigits:
        """The MNIST digits behind the wrong labels (:func:`mnistsum.analysis.misread_digits`); missed digits
        are not counted."""
        if self.digit_ids is None:
            raise ValueError("this report has no digit_ids: make it with report(), which takes them from the "
                             "canvases.")
        return misread_digits(self.digits, self.matched, self.digit_ids)


def report(model: keras.Model, config: CanvasConfig, seed: int, n: int, batch_size: int = 256,
           pools: Pools | None = None) -> DetectionReport:
    """Detect on canvases ``0..n-1`` of stream ``seed`` (drawn from ``pools``, by default the split's own) and
    match the detections to the annotations."""
    parts = []
    for batch in iter_batches(config, seed, n, batch_size, pools):
        found = detect(model, batch.images)
        parts.append((batch.sums, found.sums, batch.digits, match(found, batch.digits, batch.boxes), found.counts,
                      batch.digit_ids))
    return DetectionReport(*(np.concatenate(column) for column in zip(*parts)))
