"""Training batches made in worker processes, for an accelerator that trains faster than one core draws.

On a GPU a canvas model trains on tens of thousands of canvases a second, far more than one
CPU core makes. :func:`canvas_batches` makes batch after batch of one seeded stream in
``workers`` processes (started with ``spawn``, so a parent that has already set up its
accelerator is never forked) and yields them in order: the data are the same whatever the
number of workers. Workers import numpy and the generator only, never Keras, so the
``targets`` they apply must be numpy functions too: :func:`~mnistsum.grid.grid_targets`
(the detector's cell labels and weights) or :func:`sum_target` (the sum alone).

>>> from mnistsum.generator import CanvasConfig
>>> batches = canvas_batches(CanvasConfig(split="val"), seed=1, batch_size=2)
>>> images, labels, weights = next(batches)
>>> images.shape, labels.shape, weights.shape
((2, 128, 128, 1), (2, 26, 26), (2, 26, 26))
>>> next(canvas_batches(CanvasConfig(split="val"), seed=1, batch_size=2, targets=sum_target))[1].shape
(2, 1)
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from mnistsum.augment import DigitAugment, augmented_pools, flipped_clutter
from mnistsum.generator import CanvasBatch, CanvasConfig, Pools, generate, load_pools
from mnistsum.grid import grid_targets

Batch = tuple[np.ndarray, ...]  #: canvases, then what ``targets`` made of them
Targets = Callable[[CanvasBatch], tuple[np.ndarray, ...]]

_pools: Pools | None = None  # a worker's digit and clutter pools, loaded once


def sum_target(batch: CanvasBatch) -> tuple[np.ndarray]:
    """What a sum-only model learns from a batch: the sums, as float32 ``(B, 1)``."""
    return (batch.sums.astype(np.float32)[:, None],)


def canvas_batch(config: CanvasConfig, seed: int, index: int, batch_size: int, targets: Targets = grid_targets,
                 pools: Pools | None = None) -> Batch:
    """Batch ``index`` of stream ``seed``: canvases ``[index * batch_size, (index + 1) * batch_size)``,
    followed by ``targets`` of them (by default every grid cell's label and weight, where a left-out cell
    gets label 0 and weight 0)."""
    batch = generate(config, seed, np.arange(index * batch_size, (index + 1) * batch_size),
                     pools if pools is not None else _pools)
    return (batch.images, *targets(batch))


def fixed_batches(config: CanvasConfig, seed: int, n: int, batch_size: int, targets: Targets = grid_targets) -> Batch:
    """The first ``n`` (rounded up to whole batches) canvases of stream ``seed`` with their ``targets``, in one
    tuple of arrays: a fixed validation set."""
    parts = [canvas_batch(config, seed, i, batch_size, targets) for i in range(-(-n // batch_size))]
    return tuple(np.concatenate(part) for part in zip(*parts))


def training_pools(split: str, augment: DigitAugment | None = None, flip_clutter: bool = False) -> Pools:
    """The pools of ``split``, with ``augment``'s warped copies of the digits when given, and with
    ``flip_clutter`` every piece of clothing flipped too (:func:`~mnistsum.augment.flipped_clutter`); both
    are for training only."""
    _check_augment(split, augment, flip_clutter)
    pools = load_pools(split) if augment is None else augmented_pools(load_pools(split), augment)
    return flipped_clutter(pools) if flip_clutter else pools


def _check_augment(split: str, augment: DigitAugment | None, flip_clutter: bool = False) -> None:
    if augment is not None and split != "train":
        raise ValueError(f"digit augmentation is for training canvases only, not split={split!r}: "
                         "validation and benchmark canvases keep the plain MNIST digits.")
    if flip_clutter and split != "train":
        raise ValueError(f"flipped clutter is for training canvases only, not split={split!r}: "
                         "validation and benchmark canvases keep the clothes as they are.")


def _load_pools(split: str, augment: DigitAugment | None, flip_clutter: bool) -> None:
    global _pools
    _pools = training_pools(split, augment, flip_clutter)


def canvas_batches(config: CanvasConfig, seed: int, batch_size: int, targets: Targets = grid_targets,
                   workers: int = 1, first: int = 0, ahead: int | None = None,
                   augment: DigitAugment | None = None, flip_clutter: bool = False) -> Iterator[Batch]:
    """Batches ``first, first + 1, ...`` of stream ``seed`` without end, each :func:`canvas_batch`.

    With ``workers > 1`` they are made in that many processes, ``ahead`` batches (default
    ``2 * workers``) in flight at a time; the pool shuts down when the iterator is closed.
    With ``augment`` or ``flip_clutter``, the pools are :func:`training_pools`'s (each worker makes the same
    warped copies, from ``augment.seed``).
    """
    if workers < 1 or batch_size < 1:
        raise ValueError(f"need workers >= 1 and batch_size >= 1, got workers={workers}, batch_size={batch_size}.")
    _check_augment(config.split, augment, flip_clutter)
    if workers == 1:
        pools = training_pools(config.split, augment, flip_clutter)
        yield from (canvas_batch(config, seed, index, batch_size, targets, pools) for index in itertools.count(first))
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_load_pools,
                             initargs=(config.split, augment, flip_clutter)) as pool:
        indices = itertools.count(first)
        pending = deque(pool.submit(canvas_batch, config, seed, next(indices), batch_size, targets)
                        for _ in range(ahead or 2 * workers))
        try:
            while True:
                done = pending.popleft().result()
                pending.append(pool.submit(canvas_batch, config, seed, next(indices), batch_size, targets))
                yield done
        finally:
            for future in pending:
                future.cancel()
