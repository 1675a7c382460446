"""Training for a wall time rather than a number of steps: the recipe for a lent GPU.

On a machine whose speed is not known in advance, a schedule over *steps* cannot be planned.
:func:`train_for` trains for ``seconds`` of wall time instead; the learning rate follows
:func:`time_cosine` of the time spent, and a run may pass through several stages (a
curriculum), each with its own share of the time and its own feed of batches.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass

import keras
import numpy as np


def time_cosine(fraction: float, peak: float, warmup: float = 0.02, floor: float = 0.01) -> float:
    """The learning rate ``fraction`` of the way through a run: a linear warm-up over the first ``warmup``,
    then a cosine from ``peak`` down to ``floor * peak``.

    >>> [round(time_cosine(f, 1.0), 3) for f in (0.0, 0.01, 0.02, 0.51, 1.0)]
    [0.0, 0.5, 1.0, 0.505, 0.01]
    """
    if fraction < warmup:
        return peak * fraction / warmup
    progress = min(1.0, (fraction - warmup) / (1.0 - warmup))
    return peak * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress)))


@dataclass(frozen=True)
class Stage:
    """One stage of a timed run: it trains until ``until`` (a fraction of the run's wall time) on the
    batches of the generator ``feed()`` makes, ``(x, y)`` or ``(x, y, sample_weight)``, and closes it when
    the stage ends; ``phase`` labels its history rows.

    ``model``, when given, is what trains in this stage instead of :func:`train_for`'s model: a model
    that shares its weights and its optimizer, built for this stage's canvases (for example
    :func:`mnistsum.value_map.sum_distribution_model` on smaller canvases). Validation still uses
    :func:`train_for`'s model.
    """

    until: float
    phase: int
    feed: Callable[[], Generator[tuple[np.ndarray, ...], None, None]]
    model: keras.Model | None = None


def train_for(model: keras.Model, seconds: float, learning_rate: float, stages: Sequence[Stage],
              val: tuple[np.ndarray, ...], images_per_epoch: int, batch_size: int = 256,
              log=print) -> dict[str, list[float]]:
    """Train compiled ``model`` for ``seconds`` of wall time through ``stages``, the learning rate
    following :func:`time_cosine` from ``learning_rate``.

    Every ``images_per_epoch`` canvases, and when a stage ends, a history row is logged: the model's
    running training scores, its scores on ``val`` (``(x, y)`` or ``(x, y, sample_weight)``, prefixed
    ``val_``), ``learning_rate``, ``images``, ``epoch_seconds`` and the stage's ``phase``. Every stage
    trains at least one batch, however short its share of the time.
    """
    if seconds <= 0 or learning_rate <= 0:
        raise ValueError(f"need seconds > 0 and learning_rate > 0, got {seconds} and {learning_rate}.")
    if not stages or [s.until for s in stages] != sorted(s.until for s in stages) or stages[-1].until != 1.0:
        raise ValueError("stages must end at increasing fractions of the time, the last at 1.0.")
    batches_per_epoch = -(-images_per_epoch // batch_size)
    history: dict[str, list[float]] = {}
    epoch = {"batches": 0, "images": 0, "sums": {}}  # sums: each training score times its batch's size
    start = epoch_start = time.perf_counter()

    def end_epoch(lr: float, phase: int) -> None:
        nonlocal epoch_start
        val_scores = model.evaluate(val[0], val[1], sample_weight=val[2] if len(val) > 2 else None,
                                    batch_size=batch_size, verbose=0, return_dict=True)
        means = {k: total / epoch["images"] for k, total in epoch["sums"].items()}
        row = {**means, **{f"val_{k}": v for k, v in val_scores.items()}, "learning_rate": lr,
               "images": epoch["images"], "epoch_seconds": time.perf_counter() - epoch_start, "phase": phase}
        for key, value in row.items():
            history.setdefault(key, []).append(float(value))
        log(f"epoch {len(history['loss'])}: {time.perf_counter() - start:.0f} s, " +
            ", ".join(f"{k} {v:.5g}" for k, v in row.items()))
        epoch.update(batches=0, images=0, sums={})
        epoch_start = time.perf_counter()

    lr = learning_rate
    for stage in stages:
        trainer = stage.model or model
        if trainer.optimizer is not model.optimizer:
            raise ValueError(f"stage {stage.phase}'s model must be compiled with train_for's model's optimizer "
                             "(the same object), so that the learning rate and Adam's moments carry over.")
        feed = stage.feed()
        try:
            for trained, (x, *targets) in enumerate(feed):
                fraction = (time.perf_counter() - start) / seconds
                if fraction >= stage.until and trained:
                    break
                lr = time_cosine(min(fraction, 1.0), learning_rate)
                model.optimizer.learning_rate.assign(lr)
                # train_on_batch resets the metrics and reports this batch alone; the history keeps the epoch's means
                for key, value in trainer.train_on_batch(x, *targets, return_dict=True).items():
                    epoch["sums"][key] = epoch["sums"].get(key, 0.0) + float(value) * len(x)
                epoch["batches"] += 1
                epoch["images"] += len(x)
                if epoch["batches"] == batches_per_epoch:
                    end_epoch(lr, stage.phase)
        finally:
            feed.close()
        if epoch["batches"]:
            end_epoch(lr, stage.phase)
    return history
