"""Training recipes and the loop that runs them."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import keras

from mnistsum.generator import CanvasConfig
from mnistsum.keras_data import CanvasDataset, Targets, sum_targets
from mnistsum.paths import model_path
from mnistsum.quick import pick

TRAIN_SEED = 1
VAL_SEED = 2


@dataclass(frozen=True)
class Recipe:
    """How long and on what to train. Each epoch draws fresh training images."""

    epochs: int
    images_per_epoch: int
    batch_size: int
    val_images: int

    @property
    def images_seen(self) -> int:
        return self.epochs * self.images_per_epoch

    def __post_init__(self) -> None:
        for field, value in asdict(self).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"Recipe.{field}={value!r} is invalid: it must be a positive integer.")


#: The reference recipe: 30 epochs of 10 000 images, batch 64.
REFERENCE_RECIPE = Recipe(epochs=30, images_per_epoch=10_000, batch_size=64, val_images=1_000)
#: Quick mode: enough to run every cell, far too little to learn anything.
QUICK_RECIPE = Recipe(epochs=2, images_per_epoch=32, batch_size=16, val_images=32)


def cosine_over_epochs(learning_rate: float, epochs: int, images_per_epoch: int, batch_size: int,
                       alpha: float = 0.0) -> keras.optimizers.schedules.CosineDecay:
    """A learning rate that falls along a cosine from ``learning_rate`` to ``alpha * learning_rate`` over
    every step of ``epochs`` epochs of ``images_per_epoch`` images in batches of ``batch_size``.

    >>> cosine_over_epochs(1e-3, epochs=2, images_per_epoch=10, batch_size=4).decay_steps  # 3 batches an epoch
    6
    """
    return keras.optimizers.schedules.CosineDecay(learning_rate, epochs * -(-images_per_epoch // batch_size),
                                                  alpha=alpha)


def baseline_recipe() -> Recipe:
    """The reference recipe, or the quick one when ``MNISTSUM_QUICK=1``."""
    return pick(full=REFERENCE_RECIPE, quick=QUICK_RECIPE)


def train(model: keras.Model, recipe: Recipe, config: CanvasConfig = CanvasConfig(),
          targets: Targets = sum_targets, callbacks: list | None = None, verbose: int | str = "auto",
          seed: int = TRAIN_SEED, initial_epoch: int = 0) -> keras.callbacks.History:
    """Fit ``model`` on fresh ``train`` canvases, validating on a fixed ``val`` set; from ``initial_epoch`` on
    (epochs counted from 0), to go on with a run that stopped early on the canvases it had not seen yet."""
    if not 0 <= initial_epoch < recipe.epochs:
        raise ValueError(f"initial_epoch={initial_epoch} is invalid: it must be in [0, {recipe.epochs}), "
                         "the recipe's epochs.")
    train_data = CanvasDataset(config.replace(split="train"), seed, recipe.images_per_epoch,
                               recipe.batch_size, targets, fresh_each_epoch=True)
    train_data.epoch = initial_epoch  # epoch e serves the canvases of epoch e, however the run was split
    val_data = CanvasDataset(config.replace(split="val"), VAL_SEED, recipe.val_images,
                             recipe.batch_size, targets)
    return model.fit(train_data, validation_data=val_data, epochs=recipe.epochs, initial_epoch=initial_epoch,
                     callbacks=callbacks or [], verbose=verbose)


def distribution_strategy():
    """``MirroredStrategy`` over the GPUs when there are several, else TensorFlow's default strategy."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    return tf.distribute.MirroredStrategy([g.name for g in gpus]) if len(gpus) > 1 else tf.distribute.get_strategy()


def load_or_train(name: str, build, recipe: Recipe, retrain: bool = False, verbose: int | str = "auto",
                  callbacks: list | None = None, strategy=None):
    """Load the saved model ``name`` if there is one, else build and train it (and save it).

    Returns ``(model, history, trained_now)``. Saved models live in
    :func:`mnistsum.paths.model_path` (quick mode uses its own ``-quick`` files).
    The model is built and trained under ``strategy`` (default:
    :func:`distribution_strategy`), so several GPUs are used when there are.
    A saved model whose history holds fewer epochs than ``recipe`` asks for (a run
    that was stopped, or ran out of its time budget) is trained for the epochs
    it lacks, with its optimizer's state, on the canvases those epochs serve.
    """
    path = model_path(name)
    history_path = path.with_suffix(".history.json")
    history, done = {}, 0
    if path.exists() and not retrain:
        history = load_history(history_path) if history_path.exists() else {}
        done = len(history.get("loss", []))
        if not history or done >= recipe.epochs:
            print(f"Loaded {path.name}, trained earlier (set RETRAIN = True or delete it to train again).")
            return keras.models.load_model(path), history, False
    strategy = strategy or distribution_strategy()  # only when there is training to do
    if done:
        print(f"Loaded {path.name}: it holds {done} of the {recipe.epochs} epochs the recipe asks for (a run that "
              f"stopped early); training it for the other {recipe.epochs - done} (set RETRAIN = True to start again).")
    else:
        print(f"Training {name} on {strategy.num_replicas_in_sync} device(s): {recipe.epochs} epochs x "
              f"{recipe.images_per_epoch:,} images, batch {recipe.batch_size} ({recipe.images_seen:,} images "
              "in all).")
    with strategy.scope():
        model = keras.models.load_model(path) if done else build()
    checkpoint = Checkpoint(path, history_path, history)
    train(model, recipe, callbacks=[WallClock(), checkpoint, *(callbacks or [])], verbose=verbose,
          initial_epoch=done)
    return model, checkpoint.history, True


class WallClock(keras.callbacks.Callback):
    """Records the seconds each epoch took in ``logs['epoch_seconds']``."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


class TimeBudget(keras.callbacks.Callback):
    """Stops training after the first epoch that ends past ``seconds`` of wall time.

    The clock starts at the first ``fit`` it is given to, so one budget can span several
    ``fit`` calls (the detector's two phases).
    """

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self._start: float | None = None

    def on_train_begin(self, logs=None):
        if self._start is None:
            self._start = time.perf_counter()
        elif time.perf_counter() - self._start > self.seconds:
            self.model.stop_training = True  # the budget was spent in an earlier fit

    def on_epoch_end(self, epoch, logs=None):
        if time.perf_counter() - self._start > self.seconds:
            self.model.stop_training = True


class Checkpoint(keras.callbacks.Callback):
    """After every epoch, saves the model and the history so far (a long run can stop any time)."""

    def __init__(self, model_file: Path, history_file: Path, history: dict[str, list[float]] | None = None):
        super().__init__()
        self.model_file, self.history_file = Path(model_file), Path(history_file)
        self.history: dict[str, list[float]] = {k: list(v) for k, v in (history or {}).items()}  # to go on with

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.model_file.parent.mkdir(parents=True, exist_ok=True)
        self.model.save(self.model_file)
        save_history(self.history, self.history_file)


def save_history(history: dict[str, list[float]], path: Path) -> None:
    """Write a Keras ``History.history`` dict as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: [float(v) for v in vs] for k, vs in history.items()}, indent=1))


def load_history(path: Path) -> dict[str, list[float]]:
    return json.loads(Path(path).read_text())
