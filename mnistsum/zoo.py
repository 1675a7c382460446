"""The course's trained models: how each is trained, shipped and asked for a sum.

Shipped weights live in ``mnistsum/weights/NAME.keras`` beside ``NAME.json``, the
record of how they were trained and what they scored. ``python -m mnistsum
train --model NAME --ship`` writes both; :func:`load_shipped` reads them.

>>> sorted(ZOO)
['best', 'digit-classifier', 'sequence', 'sum-only']
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

import mnistsum.value_map  # noqa: F401 (registers its layers, so that a saved value map loads)
from mnistsum.augment import FLIPS, DigitAugment
from mnistsum.quick import pick

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class Trained:
    """A freshly trained model with its history and the budget it used."""

    model: keras.Model
    history: dict[str, list[float]]
    budget: dict  # epochs, images_seen, unit, ...
    wall_time_s: float


@dataclass(frozen=True)
class ZooEntry:
    name: str
    summary: str
    notebook: str
    #: images -> predicted sums (canvases), or digit labels for the digit classifier
    predict: Callable[[keras.Model, np.ndarray], np.ndarray]
    #: (epochs or None for the default, seconds budget or None) -> Trained
    train: Callable[[int | None, float | None], Trained]
    reads_canvases: bool = True


def _fit(fit: Callable[[list], tuple[keras.Model, dict]], budget: dict, max_seconds: float | None) -> Trained:
    """Run ``fit(callbacks)``, which returns ``(model, history dict)``; count the epochs it ran into ``budget``."""
    from mnistsum.training import TimeBudget, WallClock

    callbacks = [WallClock()] + ([TimeBudget(max_seconds)] if max_seconds else [])
    start = time.perf_counter()
    model, history = fit(callbacks)
    epochs = len(history["loss"])
    budget = {**budget, "epochs": epochs}
    if "images_per_epoch" in budget:
        budget["images_seen"] = budget["images_per_epoch"] * epochs
    return Trained(model, history, budget, time.perf_counter() - start)


# ---------------------------------------------------------------- digit classifier
def _train_digit_classifier(epochs: int | None, max_seconds: float | None) -> Trained:
    from mnistsum.classifier import load_digit_data, train_digit_classifier

    data = load_digit_data()
    n = pick(full=len(data.x_train), quick=512)
    epochs = epochs or pick(full=DIGIT_EPOCHS, quick=1)
    budget = {"optimizer": "adadelta (learning rate 1.0)", "batch_size": 128, "images_per_epoch": n,
              "augmentation": f"random shifts of up to {DIGIT_SHIFT} pixels", "unit": "MNIST digits"}
    return _fit(lambda cb: train_digit_classifier(data, "adadelta", epochs, np.arange(n), max_shift=DIGIT_SHIFT,
                                                  callbacks=cb, verbose=2), budget, max_seconds)


#: The shipped classifier's recipe: the classic one (12 epochs) trained longer, on digits shifted by up to 2 pixels.
DIGIT_EPOCHS = 20
DIGIT_SHIFT = 2


def _predict_digits(model: keras.Model, images: np.ndarray) -> np.ndarray:
    return model.predict(images, batch_size=256, verbose=0).argmax(axis=-1)


# ---------------------------------------------------------------- canvas models
def _train_sequence(epochs: int | None, max_seconds: float | None) -> Trained:
    """Five heads in reading order on the grid of the shipped detector (frozen), read every 2 pixels across
    (:func:`mnistsum.detector.every_two_pixels_across`): a scan reader trained on the grids of fresh training
    canvases, then joined to the detector (:func:`mnistsum.sequence.read_through`)."""
    from mnistsum.detector import every_two_pixels_across
    from mnistsum.generator import CanvasConfig
    from mnistsum.sequence import build_scan_reader, grid_inputs, read_through
    from mnistsum.training import TRAIN_SEED, VAL_SEED, cosine_over_epochs

    canvases, val_canvases = pick(full=SEQUENCE_CANVASES, quick=64), pick(full=2_000, quick=32)
    epochs = epochs or pick(full=SEQUENCE_EPOCHS, quick=1)
    batch_size = 128
    budget = {"eyes": "the shipped best detector (notebook 09), frozen, read every 2 pixels across (a 26x51 grid); "
                      "its own training is in best's record",
              "reader": "scan reader: a bidirectional GRU over the grid's columns", "grid": "probabilities",
              "canvases": "half with 5 digits (the benchmark's recipe), half with 0-5 (variable_digits)",
              "images_per_epoch": canvases, "val_images": val_canvases, "batch_size": batch_size,
              "learning_rate": f"cosine from {SEQUENCE_LEARNING_RATE} over the epochs", "unit": "canvases"}

    def grids(split: str, seeds: tuple[int, int], n: int) -> tuple[np.ndarray, np.ndarray]:
        """Grids and targets of ``n`` canvases of ``split``: half of each recipe, from streams ``seeds``."""
        parts = [grid_inputs(eyes, CanvasConfig(split=split, variable_digits=variable), seed, count, log=False)
                 for variable, seed, count in ((False, seeds[0], n - n // 2), (True, seeds[1], n // 2))]
        return np.concatenate([part[0] for part in parts]), np.concatenate([part[1] for part in parts])

    def fit(callbacks: list) -> tuple[keras.Model, dict]:
        x, y = grids("train", (TRAIN_SEED, SEQUENCE_VARIABLE_SEEDS[0]), canvases)
        val_x, val_y = grids("val", (VAL_SEED, SEQUENCE_VARIABLE_SEEDS[1]), val_canvases)
        reader = build_scan_reader(x.shape[1:], learning_rate=cosine_over_epochs(
            SEQUENCE_LEARNING_RATE, epochs, canvases, batch_size))
        history = reader.fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=(val_x, val_y),
                             callbacks=callbacks, verbose=2)
        return read_through(eyes, reader), history.history

    eyes = every_two_pixels_across(load_shipped_detector())
    return _fit(fit, budget, max_seconds)


#: The shipped sequence's recipe: grids of 80,000 training canvases, read 10 times; half of the canvases have
#: 0-5 digits, from their own canvas streams (training, validation), so that the heads learn to say *blank*.
SEQUENCE_CANVASES = 80_000
SEQUENCE_VARIABLE_SEEDS = (11, 12)
SEQUENCE_EPOCHS = 10
SEQUENCE_LEARNING_RATE = 1e-3


def _predict_sequence_sums(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """The most likely sum of the heads (:func:`mnistsum.sequence.most_likely_sums`)."""
    from mnistsum.sequence import most_likely_sums

    return most_likely_sums(model.predict(images, batch_size=64, verbose=0))


def _train_sum_only(epochs: int | None, max_seconds: float | None) -> Trained:
    if epochs is not None:
        raise ValueError("sum-only trains for a wall time through its curriculum: give a time "
                         "(--seconds or --max-hours), not epochs.")
    return train_sum_only(max_seconds)


#: :func:`train_sum_only`'s recipe: batch 256, a cosine from 4e-4 over the wall time, a validation check
#: every 200,000 canvases (tiny in quick mode); one hour when no time is given (a few seconds in quick mode).
SUM_ONLY_RECIPE = {"batch_size": 256, "learning_rate": 4e-4, "images_per_epoch": 200_000, "val_images": 2_000}
SUM_ONLY_SECONDS = 3_600


def train_sum_only(seconds: float | None = None, seed: int = 1, learning_rate: float | None = None,
                   workers: int = 1, batch_size: int | None = None) -> Trained:
    """Train a fresh value map of cells (:mod:`mnistsum.value_map`) on sums alone for ``seconds`` of wall time,
    by the likelihood of each true sum; the model returned reads each canvas at the shifts that read validation
    canvases best (:func:`_with_shifts`) and answers with the most likely sum.

    Its canvases come from ``workers`` processes. Call it in :func:`strategy_scope` (as :func:`train` does)
    to build and train under TensorFlow's distribution strategy.
    """
    from mnistsum.value_map import CELL, CURRICULUM, build_value_map, most_likely_sum_model, train_value_map_for

    recipe, seconds = _sum_only_recipe(seconds, learning_rate, batch_size, SUM_ONLY_RECIPE["learning_rate"])
    start = time.perf_counter()
    model = build_value_map(learning_rate=recipe["learning_rate"], cell=CELL)
    history = train_value_map_for(model, seconds, recipe["learning_rate"], recipe["batch_size"],
                                  recipe["images_per_epoch"], seed, workers, recipe["val_images"])
    curriculum = [f"until {until:.0%} of the time: {config}" for until, config in CURRICULUM]
    budget = {**recipe, **_SUM_ONLY_LABELS, "values": f"one per cell of {CELL}x{CELL} windows (CellValues)",
              "curriculum": curriculum, **_timed_budget(seconds, workers, seed, history)}
    return _with_shifts(Trained(most_likely_sum_model(model), history, budget, time.perf_counter() - start))


def resume_sum_only(seed: int, seconds: float | None = None, learning_rate: float | None = None,
                    workers: int = 1, batch_size: int | None = None) -> Trained:
    """Train the shipped sum-only further: a warm restart on the benchmark's recipe (the curriculum's last
    stage) for ``seconds`` of wall time, its canvases from stream ``seed`` (give each stage its own), the
    learning rate a cosine from ``learning_rate`` (default :data:`RESUME_SUM_ONLY_LEARNING_RATE`).
    The budget returned is this stage's alone; :func:`resumed_record` adds it to the earlier ones. Call it
    in :func:`strategy_scope`, as :func:`train_sum_only`.
    """
    from mnistsum.value_map import CURRICULUM, most_likely_sum_model, train_value_map_for, value_map_from

    recipe, seconds = _sum_only_recipe(seconds, learning_rate, batch_size, RESUME_SUM_ONLY_LEARNING_RATE)
    start = time.perf_counter()
    model = value_map_from(load_shipped("sum-only"), recipe["learning_rate"])
    history = train_value_map_for(model, seconds, recipe["learning_rate"], recipe["batch_size"],
                                  recipe["images_per_epoch"], seed, workers, recipe["val_images"],
                                  from_phase=len(CURRICULUM))
    budget = {**recipe, **_SUM_ONLY_LABELS, "curriculum": [f"the whole time: {CURRICULUM[-1][1]}"],
              **_timed_budget(seconds, workers, seed, history)}
    return _with_shifts(Trained(most_likely_sum_model(model), history, budget, time.perf_counter() - start))


#: Where :func:`resume_sum_only`'s cosine starts: half the first stage's start.
RESUME_SUM_ONLY_LEARNING_RATE = 2e-4
_SUM_ONLY_LABELS = {"labels": "sums only", "objective": "likelihood of the true sum (SumDistribution)"}


#: The validation canvases on which sum-only's test-time shifts are chosen (:func:`_with_shifts`).
SHIFTS_SEED = 9
SHIFTS_CANVASES = 4_000


def _with_shifts(trained: Trained) -> Trained:
    """Read a freshly trained sum-only at the offsets, of :data:`mnistsum.shifts.CANDIDATES`, that get the most
    sums of validation canvases right (:mod:`mnistsum.shifts`); the budget records the choice."""
    from mnistsum.generator import CanvasConfig, generate
    from mnistsum.shifts import CANDIDATES, choose_offsets, shifted_sum_model, sum_distributions

    start = time.perf_counter()
    n = pick(full=SHIFTS_CANVASES, quick=16)
    val = generate(CanvasConfig(split="val"), SHIFTS_SEED, range(n))
    offsets = sorted({o for candidate in CANDIDATES for o in candidate})
    chosen, scores = choose_offsets(dict(zip(offsets, sum_distributions(trained.model, val.images, offsets))),
                                    val.sums)
    budget = {**trained.budget, "shifts": {
        "offsets": list(chosen), "val_canvases": n, "val_seed": SHIFTS_SEED,
        "val_sum_accuracy_by_offsets": {" ".join(map(str, c)): score for c, score in scores.items()}}}
    return Trained(shifted_sum_model(trained.model, chosen), trained.history, budget,
                   trained.wall_time_s + time.perf_counter() - start)


def shifts(record: dict) -> dict | None:
    """The test-time shifts of a sum-only record: those chosen again by ``python -m mnistsum shifts`` when
    there are some, else those its newest stage chose, if any."""
    return latest_choice(record, "shifts")


def shift_again() -> tuple[keras.Model, dict]:
    """The shipped sum-only read at the shifts that now read validation canvases best:
    ``(model, what the record's shifts say)``."""
    chosen = _with_shifts(Trained(keras.models.load_model(shipped_path("sum-only")), {}, {}, 0.0))
    return chosen.model, chosen.budget["shifts"]


def _sum_only_recipe(seconds: float | None, learning_rate: float | None, batch_size: int | None,
                     default_learning_rate: float) -> tuple[dict, float]:
    """Sum-only's recipe (tiny in quick mode) with the given changes, and its wall time."""
    recipe = pick(full=SUM_ONLY_RECIPE, quick={**SUM_ONLY_RECIPE, "batch_size": 8, "images_per_epoch": 16,
                                               "val_images": 8})
    recipe = {**recipe, "learning_rate": learning_rate or default_learning_rate,
              "batch_size": batch_size or recipe["batch_size"]}
    return recipe, seconds or pick(full=SUM_ONLY_SECONDS, quick=3)


def _timed_budget(seconds: float, workers: int, seed: int, history: dict[str, list[float]]) -> dict:
    """What a run trained for a wall time (:func:`mnistsum.timed.train_for`) records of its budget."""
    return {"schedule": f"cosine over {seconds:g} s of wall time", "seconds": seconds, "workers": workers,
            "seed": seed, **_backend_budget(), "unit": "canvases",
            "epochs": len(history["loss"]), "images_seen": int(sum(history["images"]))}


def _backend_budget() -> dict:
    """The Keras backend a run trained on and, under JAX, the precision of its matrix products (by default
    JAX may multiply float32 in TF32 on recent NVIDIA GPUs; ``JAX_DEFAULT_MATMUL_PRECISION=highest`` stops it)."""
    backend = keras.backend.backend()
    if backend != "jax":
        return {"keras_backend": backend}
    import jax

    return {"keras_backend": backend, "matmul_precision": jax.config.jax_default_matmul_precision or "default"}


def _augment_for_mode(augment: DigitAugment | None) -> DigitAugment | None:
    """``augment``, with one warped copy of each digit in quick mode: a pool made in a second or two."""
    return augment if augment is None else pick(full=augment, quick=dataclasses.replace(augment, copies=1))


def _augment_budget(augment: DigitAugment | None) -> dict:
    """How a run's training digits were augmented, for its budget (nothing when they were not)."""
    return {"augment": dataclasses.asdict(augment)} if augment is not None else {}


def _predict_value_sums(model: keras.Model, images: np.ndarray) -> np.ndarray:
    from mnistsum.value_map import predicted_sums

    return predicted_sums(model, images)


# ---------------------------------------------------------------- detector
def _train_best(epochs: int | None, max_seconds: float | None) -> Trained:
    from mnistsum.detector import DetectorRecipe, build_detector, train_detector

    recipe = pick(full=DetectorRecipe(), quick=DetectorRecipe(1, 4, 4, 1, 16, 8))
    if epochs:  # --epochs sets the whole-canvas phase
        recipe = dataclasses.replace(recipe, grid_epochs=epochs)
    model = build_detector()
    budget = {**dataclasses.asdict(recipe), "unit": "canvases"}
    trained = _fit(lambda cb: (model, train_detector(model, recipe, callbacks=cb, verbose=2)), budget, max_seconds)
    phases = trained.history["phase"]
    ran = dataclasses.replace(recipe, window_epochs=phases.count(1), grid_epochs=phases.count(2))  # a budget may stop it
    budget = {**budget, "window_epochs": ran.window_epochs, "grid_epochs": ran.grid_epochs, "epochs": len(phases),
              "images_seen": ran.images_seen}
    return _with_second_opinion(dataclasses.replace(trained, budget=budget))


#: The validation canvases (stream and number) on which the second opinion and its weight are chosen.
SECOND_OPINION_SEED = 7
SECOND_OPINION_CANVASES = 10_000


# ---------------------------------------------------------------- reader (a second opinion for best)
#: :func:`train_reader`'s defaults: width 64, batch 256, a cosine from 1e-3 over the wall time, a validation
#: check every 200,000 canvases, the digits augmented with :class:`~mnistsum.augment.DigitAugment`'s defaults.
READER_RECIPE = {"width": 64, "batch_size": 256, "learning_rate": 1e-3, "images_per_epoch": 200_000,
                 "val_images": 2_000}
#: ``train_reader(windows=True)``'s: width 32 and the digit windows of 64 canvases a batch (about 320
#: windows), a validation check every 100,000 canvases: the recipe for a CPU.
WINDOW_READER_RECIPE = {"width": 32, "batch_size": 64, "learning_rate": 1e-3, "images_per_epoch": 100_000,
                        "val_images": 2_000}
#: ``train_reader(windows=True, body="strided")``'s: the strided body of width 32, the windows of 48 canvases a
#: batch, a cosine from 2e-3, a validation check every 300,000 canvases on 1,000.
STRIDED_READER_RECIPE = {"width": 32, "batch_size": 48, "learning_rate": 2e-3, "images_per_epoch": 300_000,
                         "val_images": 1_000}


def train_reader(seconds: float, seed: int = 1, learning_rate: float | None = None, workers: int = 1,
                 augment: DigitAugment | None = DigitAugment(), windows: bool = False,
                 body: str = "detector") -> Trained:
    """Train a :mod:`~mnistsum.reader` for ``seconds`` of wall time with :data:`READER_RECIPE`, or with
    ``windows`` on digit windows with :data:`WINDOW_READER_RECIPE` (:data:`STRIDED_READER_RECIPE` for the
    ``strided`` body, which trains on windows only; tiny in quick mode); ``augment=None`` trains on the plain
    digits."""
    from mnistsum.reader import WINDOWS_UNIT, build_reader, train_reader_for

    if body == "strided" and not windows:
        raise ValueError("the strided reader trains on digit windows: give windows=True (--windows).")
    full = READER_RECIPE if not windows else STRIDED_READER_RECIPE if body == "strided" else WINDOW_READER_RECIPE
    recipe = pick(full=full,
                  quick={"width": 8, "batch_size": 8, "learning_rate": 1e-3, "images_per_epoch": 16,
                         "val_images": 8})
    if learning_rate is not None:
        recipe = {**recipe, "learning_rate": learning_rate}
    augment = _augment_for_mode(augment)
    with strategy_scope():
        model = build_reader(recipe["width"], recipe["learning_rate"], body)
    start = time.perf_counter()
    history = train_reader_for(model, seconds, recipe["learning_rate"], recipe["batch_size"],
                               recipe["images_per_epoch"], seed, workers, recipe["val_images"], augment, windows)
    budget = {**recipe, "body": body, "labels": "digits at their cells", **_augment_budget(augment),
              **_timed_budget(seconds, workers, seed, history)}
    if windows:  # images_seen counts windows; batch_size and images_per_epoch count the canvases cut into them
        budget.update(unit=WINDOWS_UNIT, labels="the digit of each window: one per digit, shifted by up to 2 px")
    return Trained(model, history, budget, time.perf_counter() - start)


#: The models that may give the detector a second opinion, in the order a tie on validation prefers them:
#: a model slid over the canvas, or the reader read where each digit's ink is (:mod:`mnistsum.aligned`).
GRID_OPINIONS = ("digit-classifier", "reader")
ALIGNED_READER = "reader-aligned"
SECOND_OPINIONS = (*GRID_OPINIONS, ALIGNED_READER)


def opinion_grid(name: str) -> keras.Model:
    """Shipped second opinion ``name`` as a model from canvases to ``(H', W', 10)`` digit probabilities on the
    detector's grid: notebook 06's classifier slid over the canvas, or the reader (a grid model already)."""
    if name not in GRID_OPINIONS:
        raise ValueError(f"unknown grid opinion {name!r}: choose one of {', '.join(GRID_OPINIONS)}.")
    if name == "digit-classifier":
        from mnistsum.second_opinion import classifier_grid

        return classifier_grid(load_shipped(name))
    return load_shipped(name)


def _opinion_model(name: str) -> str:
    """The shipped model whose weights second opinion ``name`` reads with."""
    return "reader" if name == ALIGNED_READER else name


def voted(detector: keras.Model, name: str, weight: float):
    """``detector`` with shipped second opinion ``name`` (one of :data:`SECOND_OPINIONS`) voting with ``weight``:
    a Keras model, or an :class:`~mnistsum.aligned.AlignedVote` for the reader read where the ink is."""
    if name == ALIGNED_READER:
        from mnistsum.aligned import AlignedVote

        return AlignedVote(detector, load_shipped("reader"), weight)
    from mnistsum.second_opinion import with_second_opinion

    return with_second_opinion(detector, opinion_grid(name), weight)


def _opinion_on(name: str, detector_grids: np.ndarray, images: np.ndarray) -> np.ndarray:
    """Second opinion ``name``'s grid of digit probabilities for ``images``, whose detector grids are given."""
    if name == ALIGNED_READER:
        from mnistsum.aligned import aligned_opinion

        return aligned_opinion(detector_grids, images, load_shipped("reader"))
    return opinion_grid(name).predict(images, batch_size=64, verbose=0)


def _with_second_opinion(trained: Trained) -> Trained:
    """Give a freshly trained detector a second opinion: of the shipped :data:`SECOND_OPINIONS`, the one
    whose vote, at its best weight, reads validation canvases (digits that no model trained on) best."""
    from mnistsum.generator import CanvasConfig, generate
    from mnistsum.second_opinion import choose_weight

    start = time.perf_counter()
    n = pick(full=SECOND_OPINION_CANVASES, quick=16)
    val = generate(CanvasConfig(split="val"), SECOND_OPINION_SEED, range(n))
    detector_grids = trained.model.predict(val.images, batch_size=64, verbose=0)
    candidates = {name: choose_weight(detector_grids, _opinion_on(name, detector_grids, val.images), val.sums)
                  for name in SECOND_OPINIONS if shipped_path(_opinion_model(name)).exists()}
    if not candidates:
        raise FileNotFoundError(f"no shipped second opinion: ship one of {', '.join(GRID_OPINIONS)} first.")
    name = max(candidates, key=lambda k: max(candidates[k][1].values()))  # the first of equals
    weight, scores = candidates[name]
    budget = {**trained.budget, "second_opinion": {
        "classifier": name, "weight": weight, "val_canvases": n, "val_seed": SECOND_OPINION_SEED,
        "val_sum_accuracy_by_weight": {str(w): s for w, s in scores.items()},
        "val_sum_accuracy_by_opinion": {k: max(v[1].values()) for k, v in candidates.items()}}}
    return Trained(voted(trained.model, name, weight), trained.history, budget,
                   trained.wall_time_s + time.perf_counter() - start)


def resume_best(seed: int, epochs: int | None = None, images_per_epoch: int | None = None,
                batch_size: int | None = None, learning_rate: float | None = None,
                max_seconds: float | None = None, seconds: float | None = None, workers: int = 1,
                augment: DigitAugment | None = None, flip_clutter: bool = False) -> Trained:
    """Train the shipped detector further: a warm restart of its whole-canvas phase on fresh canvases.

    The canvases come from stream ``seed`` (give each stage of training its own). The defaults are
    :data:`RESUME_RECIPE`: 40 epochs of 8,000 canvases, batch 32, a cosine from 3e-4 (tiny in quick mode).
    With ``seconds``, it trains for that wall time instead, the cosine following the clock
    (:func:`~mnistsum.detector.train_detector_for`, defaults :data:`TIMED_RECIPE`), its canvases made
    by ``workers`` processes, their digits from ``augment``'s pool when given, their clothes flipped four ways
    with ``flip_clutter`` (:func:`~mnistsum.augment.flipped_clutter`): the recipe for a lent GPU.
    The budget returned is this stage's alone; :func:`resumed_record` adds it to the earlier ones.
    """
    if seconds is not None:
        if epochs is not None or max_seconds is not None:
            raise ValueError("a timed stage (seconds) sets its own length: give neither epochs nor max_seconds.")
        return _resume_best_for(seed, seconds, images_per_epoch, batch_size, learning_rate, workers, augment,
                                flip_clutter)
    if augment is not None or flip_clutter:
        raise ValueError("digit augmentation and flipped clutter apply to a timed stage: give seconds too.")
    from mnistsum.detector import DetectorRecipe, train_detector

    recipe = DetectorRecipe(**RESUME_RECIPE)
    recipe = pick(full=recipe, quick=dataclasses.replace(recipe, grid_epochs=1, grid_images=8, grid_batch_size=8))
    changes = {"grid_epochs": epochs, "grid_images": images_per_epoch, "grid_batch_size": batch_size,
               "learning_rate": learning_rate}
    recipe = dataclasses.replace(recipe, **{k: v for k, v in changes.items() if v is not None})
    model = _shipped_detector_to_train(recipe.learning_rate)
    budget = {**dataclasses.asdict(recipe), "seed": seed, "unit": "canvases"}
    trained = _fit(lambda cb: (model, train_detector(model, recipe, callbacks=cb, verbose=2, seed=seed)),
                   budget, max_seconds)
    ran = len(trained.history["loss"])  # a time budget may stop it early
    budget = {**budget, "grid_epochs": ran, "epochs": ran, "images_seen": ran * recipe.grid_images}
    return _with_second_opinion(dataclasses.replace(trained, budget=budget))


def strategy_scope(strategy=None):
    """Under TensorFlow, the scope of ``strategy`` (default :func:`~mnistsum.training.distribution_strategy`:
    ``MirroredStrategy`` over several GPUs); other Keras backends train on one device, with no scope."""
    import contextlib

    if keras.backend.backend() != "tensorflow":
        return contextlib.nullcontext()
    from mnistsum.training import distribution_strategy

    return (strategy or distribution_strategy()).scope()


def _shipped_detector_to_train(learning_rate: float) -> keras.Model:
    """The shipped detector without its second opinion, compiled with a fresh Adam in :func:`strategy_scope`."""
    from mnistsum.detector import compile_detector

    with strategy_scope():
        return compile_detector(load_shipped_detector(), learning_rate)


#: :func:`resume_best`'s defaults for a timed stage (``seconds``): batch 256, a cosine from 6e-4 over the
#: wall time, a validation check every 200,000 canvases (tiny in quick mode).
TIMED_RECIPE = {"grid_images": 200_000, "grid_batch_size": 256, "learning_rate": 6e-4, "val_images": 2_000}


def _resume_best_for(seed: int, seconds: float, images_per_epoch: int | None, batch_size: int | None,
                     learning_rate: float | None, workers: int, augment: DigitAugment | None,
                     flip_clutter: bool = False) -> Trained:
    from mnistsum.detector import train_detector_for

    recipe = pick(full=TIMED_RECIPE, quick={**TIMED_RECIPE, "grid_images": 16, "grid_batch_size": 8, "val_images": 8})
    changes = {"grid_images": images_per_epoch, "grid_batch_size": batch_size, "learning_rate": learning_rate}
    recipe = {**recipe, **{k: v for k, v in changes.items() if v is not None}}
    model = _shipped_detector_to_train(recipe["learning_rate"])
    augment = _augment_for_mode(augment)
    start = time.perf_counter()
    history = train_detector_for(model, seconds, recipe["learning_rate"], recipe["grid_batch_size"],
                                 recipe["grid_images"], seed, workers, recipe["val_images"], augment, flip_clutter)
    budget = {"window_epochs": 0, **recipe, **_augment_budget(augment),
              **({"clutter": f"each piece {', '.join(FLIPS)}"} if flip_clutter else {}),
              **_timed_budget(seconds, workers, seed, history), "grid_epochs": len(history["loss"])}
    return _with_second_opinion(Trained(model, history, budget, time.perf_counter() - start))


#: :func:`resume_best`'s recipe in a full run: the stage that took the shipped detector from 88,800 canvases on.
RESUME_RECIPE = {"window_epochs": 0, "grid_epochs": 40, "grid_images": 8_000, "grid_batch_size": 32,
                 "learning_rate": 3e-4}


def stage_seeds(record: dict) -> set[int]:
    """The canvas streams that the stages of a record's training used (a stage that names none used
    :func:`~mnistsum.detector.train_detector`'s default, 1)."""
    return {seed for budget in stage_budgets(record) for seed in budget.get("seeds", [budget.get("seed", 1)])}


def stage_budgets(record: dict) -> list[dict]:
    """The budget of each stage of a record's training, oldest first (one, for weights trained in one go)."""
    budget = record.get("budget", {})
    return [stage["budget"] for stage in budget["stages"]] if "stages" in budget else [budget]


def latest_choice(record: dict, key: str) -> dict | None:
    """How a record's weights are read (``key``: ``"shifts"``, ``"second_opinion"``): the choice made again
    after training (``record[key]``) when there is one, else the one its newest stage made, if any.

    >>> staged = {"budget": {"stages": [{"budget": {"shifts": "old"}}, {"budget": {"shifts": "new"}}]}}
    >>> latest_choice(staged, "shifts"), latest_choice({**staged, "shifts": "again"}, "shifts")
    ('new', 'again')
    >>> latest_choice({"budget": {}}, "shifts") is None
    True
    """
    return record.get(key) or stage_budgets(record)[-1].get(key)


def resumed_record(previous: dict, latest: dict) -> dict:
    """The record of weights trained in stages: ``latest`` (the newest stage's record) on top of ``previous``.

    Images, epochs, wall time and histories add up; ``budget["stages"]`` keeps every stage's own
    budget, wall time, hardware, date and command, and the scores are the latest ones.

    >>> one = {"budget": {"unit": "canvases", "epochs": 2, "images_seen": 20}, "wall_time_s": 5.0,
    ...        "hardware": "A", "date": "d1", "command": "c1", "history": {"loss": [2.0, 1.0]}}
    >>> two = {**one, "budget": {**one["budget"], "epochs": 1, "images_seen": 30}, "hardware": "B",
    ...        "date": "d2", "command": "c2", "history": {"loss": [0.5]}, "sum_accuracy": 0.9}
    >>> both = resumed_record(one, two)
    >>> both["budget"]["images_seen"], both["budget"]["epochs"], both["wall_time_s"], both["hardware"]
    (50, 3, 10.0, 'A; B')
    >>> both["history"]["loss"], [s["command"] for s in both["budget"]["stages"]], both["sum_accuracy"]
    ([2.0, 1.0, 0.5], ['c1', 'c2'], 0.9)
    """
    stages = [*(previous["budget"].get("stages") or [_part_of(previous, "stages")]), _part_of(latest, "stages")]
    old_history, new_history = previous.get("history", {}), latest.get("history", {})
    return {
        **{k: v for k, v in latest.items() if k != "notes"},
        "budget": {"unit": latest["budget"].get("unit", "images"),
                   "epochs": sum(s["budget"]["epochs"] for s in stages),
                   "images_seen": sum(s["budget"]["images_seen"] for s in stages), "stages": stages},
        "wall_time_s": round(sum(s["wall_time_s"] for s in stages), 1),
        "hardware": "; ".join(dict.fromkeys(s["hardware"] for s in stages)),
        "history": {k: old_history[k] + v for k, v in new_history.items() if k in old_history},
    }


def _part_of(record: dict, key: str) -> dict:
    """One stage (or member) of a record made of several: its own budget, wall time, hardware, date,
    command and notes."""
    kept = ("wall_time_s", "hardware", "date", "command", "notes")
    return {"budget": {k: v for k, v in record["budget"].items() if k != key},
            **{k: record[k] for k in kept if k in record}}


def joined_reader_record(previous: dict, latest: dict) -> dict:
    """The record of a reader ensemble: ``latest`` (the record of the ensemble, with the budget of the
    newest member) joined to ``previous`` (the shipped reader's). ``budget["members"]`` keeps every
    member's budget, reading accuracy, wall time, hardware and command; canvases, digit windows (members
    trained on those) and wall time add up."""
    from mnistsum.reader import WINDOWS_UNIT

    def member(record: dict) -> dict:
        part = _part_of(record, "members")
        return {**part, "digit_accuracy": record.get("member_digit_accuracy", record["digit_accuracy"])}

    def seen(unit: str) -> int:
        return sum(m["budget"]["images_seen"] for m in members if m["budget"].get("unit", "canvases") == unit)

    members = [*(previous["budget"].get("members") or [member(previous)]), member(latest)]
    windows_seen = seen(WINDOWS_UNIT)
    windows = {"digit_windows_seen": windows_seen} if windows_seen else {}
    return {**{k: v for k, v in latest.items() if k not in ("notes", "history", "member_digit_accuracy")},
            "budget": {"unit": "canvases", "epochs": sum(m["budget"]["epochs"] for m in members),
                       "images_seen": seen("canvases"), **windows, "members": members},
            "wall_time_s": round(sum(m["wall_time_s"] for m in members), 1),
            "hardware": "; ".join(dict.fromkeys(m["hardware"] for m in members))}


def _predict_detector_sums(model: keras.Model, images: np.ndarray) -> np.ndarray:
    from mnistsum.detector import predict_sums

    return predict_sums(model, images)


ZOO: dict[str, ZooEntry] = {e.name: e for e in (
    ZooEntry("digit-classifier", "classic Keras MNIST CNN, one 28x28 digit -> 0-9",
             "06_digit_classifier", _predict_digits, _train_digit_classifier, reads_canvases=False),
    ZooEntry("sequence", "5 softmax heads read the digits left to right: a bidirectional GRU scans the grid of "
                         "the frozen detector column by column; the most likely sum of the heads",
             "07_sequence_readout", _predict_sequence_sums, _train_sequence),
    ZooEntry("sum-only", "value map of cells: the detector's layout, each cell of 7x7 windows a distribution over "
                         "digit values; the most likely sum of them, the canvas read at a few shifts; trained on "
                         "sums alone",
             "08_resnet_focal", _predict_value_sums, _train_sum_only),
    ZooEntry("best", "fully convolutional digit detector, a reader trained on warped digits as a second opinion, "
                     "read where each digit's ink is; sum of the detected digits",
             "09_detector", _predict_detector_sums, _train_best),
)}


def entry(name: str) -> ZooEntry:
    """The zoo entry ``name``, or a ``ValueError`` listing the names there are."""
    if name not in ZOO:
        raise ValueError(f"unknown model {name!r}: choose one of {', '.join(sorted(ZOO))}.")
    return ZOO[name]


#: Shipped models that are not in the zoo of sum models (they serve the notebooks).
OTHER_SHIPPED = ("autoencoder", "reader")


def _shipped_name(name: str) -> str:
    return name if name in OTHER_SHIPPED else entry(name).name


def shipped_path(name: str) -> Path:
    return WEIGHTS_DIR / f"{_shipped_name(name)}.keras"


def shipped_record(name: str) -> dict | None:
    """The record saved with the shipped weights (training budget and scores), if any."""
    path = WEIGHTS_DIR / f"{_shipped_name(name)}.json"
    return json.loads(path.read_text()) if path.exists() else None


def load_shipped(name: str) -> keras.Model:
    """The shipped trained model ``name``.

    ``best`` is assembled: ``best.keras`` holds the detector, and when its record names a second
    opinion (notebook 06's classifier or the reader, slid over the canvas or read where each digit's ink
    is), that shipped model joins it with the recorded vote weight (:func:`voted`), so its weights are not
    shipped twice. ``sum-only`` reads each canvas at the shifts its record names (:mod:`mnistsum.shifts`).
    """
    model, record = keras.models.load_model(_existing_shipped_path(name)), shipped_record(name) or {}
    if name == "sum-only" and (chosen := shifts(record)) is not None:
        from mnistsum.shifts import shifted_sum_model

        return shifted_sum_model(model, chosen["offsets"])
    opinion = second_opinion(record) if name == "best" else None
    return model if opinion is None else voted(model, opinion["classifier"], opinion["weight"])


def _existing_shipped_path(name: str) -> Path:
    """The path of the shipped weights of ``name``, or a ``FileNotFoundError`` that says how to make them."""
    path = shipped_path(name)
    if not path.exists():
        how = {"autoencoder": "mnistsum.autoencoder.train_autoencoder() and mnistsum.zoo.ship()",
               "reader": "`python -m mnistsum train-reader --seconds T --ship`"}.get(
            name, f"`python -m mnistsum train --model {name} --ship`")
        raise FileNotFoundError(f"no shipped weights for {name!r} at {path}; train them with {how}.")
    return path


def second_opinion(record: dict) -> dict | None:
    """The second opinion (model and vote weight) of a record: the one chosen again by
    ``python -m mnistsum vote`` when there is one, else the one its newest stage chose, if any."""
    return latest_choice(record, "second_opinion")


def vote_again() -> tuple[keras.Model, dict]:
    """The shipped detector with the shipped second opinion that now reads validation canvases best (say,
    after a new reader was shipped): ``(model, what the record's second_opinion says)``."""
    chosen = _with_second_opinion(Trained(load_shipped_detector(), {}, {}, 0.0))
    return chosen.model, chosen.budget["second_opinion"]


def load_shipped_detector() -> keras.Model:
    """The shipped ``best`` without its second opinion: the detector alone, a judge of digits that is
    independent of notebook 06's classifier."""
    return keras.models.load_model(_existing_shipped_path("best"))


def ship(name: str, model: keras.Model, record: dict) -> Path:
    """Save ``model`` (weights and architecture, without optimizer state) and its ``record`` as the
    shipped weights of ``name``.

    Leaving out the optimizer's state (Adadelta and Adam keep two extra numbers per weight) makes the
    file about three times smaller; the shipped model loads uncompiled, ready to predict
    (compile it to train it further). Of a detector with a second opinion only the detector is saved:
    the classifier is shipped already, and ``record`` holds the vote weight (see :func:`load_shipped`); of a
    sum-only read at several shifts, the value map read once, and ``record`` holds the offsets.
    """
    from mnistsum.second_opinion import parts
    from mnistsum.shifts import offsets_of, unshifted
    from mnistsum.value_map import most_likely_sum_model

    WEIGHTS_DIR.mkdir(exist_ok=True)
    path = shipped_path(name)
    model = parts(model)[0]
    if offsets_of(model):
        model = most_likely_sum_model(unshifted(model))
    inference = type(model).from_config(model.get_config())  # the same layers, not compiled
    inference.set_weights(model.get_weights())
    partial = path.with_suffix(".partial.keras")
    inference.save(partial)
    partial.replace(path)
    ship_record(name, record)
    return path


def ship_record(name: str, record: dict) -> Path:
    """Write ``record`` beside the shipped weights of ``name`` (which stay as they are)."""
    path = shipped_path(name).with_suffix(".json")
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def score(name: str, model, n: int | None = None):
    """Benchmark evaluation of a canvas model, or MNIST-test scores of the digit classifier."""
    from mnistsum.benchmark import benchmark_size, evaluate_sum_model

    zoo_entry = entry(name)
    if zoo_entry.reads_canvases:
        return evaluate_sum_model(lambda x: zoo_entry.predict(model, x), n=n or benchmark_size())
    from mnistsum.classifier import load_digit_data

    data = load_digit_data()
    n = min(n or len(data.x_test), len(data.x_test))
    accuracy = float((zoo_entry.predict(model, data.x_test[:n]) == data.y_test[:n]).mean())
    return {"test_accuracy": accuracy, "test_n": n}


def predict(name: str, model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Sums (or digit labels, for the digit classifier) predicted by ``model`` of zoo entry ``name``."""
    return entry(name).predict(model, images)


def train(name: str, epochs: int | None = None, max_seconds: float | None = None, strategy=None) -> Trained:
    """Train zoo model ``name`` with its recipe (tiny in quick mode), built and fitted under ``strategy``.

    ``strategy`` defaults to :func:`mnistsum.training.distribution_strategy`: ``MirroredStrategy``
    over the GPUs when there are several, TensorFlow's default strategy otherwise.
    """
    with strategy_scope(strategy):
        return entry(name).train(epochs, max_seconds)


def load_or_train(name: str, retrain: bool = False) -> tuple[keras.Model, dict[str, list[float]], bool]:
    """The shipped model ``name`` with its recorded training history, or a freshly trained one.

    Returns ``(model, history, trained_now)``. ``retrain=True`` (or missing weights) trains with the
    model's recipe, a tiny one in quick mode; nothing is shipped or recorded by this function.
    """
    if not retrain and shipped_path(name).exists():
        record = shipped_record(name) or {}
        print(f"Loaded the shipped {name} ({describe_shipped(record)}). Set RETRAIN = True to train it here.")
        return load_shipped(name), record.get("history", {}), False
    trained = train(name)
    return trained.model, trained.history, True


def describe_shipped(record: dict) -> str:
    """One line on how shipped weights were trained, from their record."""
    if not record:
        return "no record"
    budget = record["budget"]
    return (f"{budget['images_seen']:,} training {budget.get('unit', 'images')}, {budget['epochs']} epochs, "
            f"{record['wall_time_s'] / 60:.0f} min on {record['hardware']}")
