"""Whole-canvas training batches made in worker processes, for an accelerator that trains faster than one core draws.

On a GPU the detector trains on tens of thousands of canvases a second, far more than
one CPU core makes. :func:`grid_batches` makes batch after batch of one seeded stream in
``workers`` processes (started with ``spawn``, so a parent that has already set up its
accelerator is never forked) and yields them in order: the data are the same whatever the
number of workers. Workers import numpy and the generator only, never Keras.

>>> from mnistsum.generator import CanvasConfig
>>> batches = grid_batches(CanvasConfig(split="val"), seed=1, batch_size=2)
>>> images, labels, weights = next(batches)
>>> images.shape, labels.shape, weights.shape
((2, 128, 128, 1), (2, 26, 26), (2, 26, 26))
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from mnistsum.generator import CanvasConfig, Pools, generate, load_pools
from mnistsum.grid import grid_targets

GridBatch = tuple[np.ndarray, np.ndarray, np.ndarray]  #: canvases, cell labels, cell weights

_pools: Pools | None = None  # a worker's digit and clutter pools, loaded once


def grid_batch(config: CanvasConfig, seed: int, index: int, batch_size: int, pools: Pools | None = None) -> GridBatch:
    """Batch ``index`` of stream ``seed``: canvases ``[index * batch_size, (index + 1) * batch_size)``,
    the label of every grid cell (a left-out cell gets label 0 and weight 0) and the cell weights."""
    batch = generate(config, seed, np.arange(index * batch_size, (index + 1) * batch_size),
                     pools if pools is not None else _pools)
    return (batch.images, *grid_targets(batch))


def _load_pools(split: str) -> None:
    global _pools
    _pools = load_pools(split)


def grid_batches(config: CanvasConfig, seed: int, batch_size: int, workers: int = 1, first: int = 0,
                 ahead: int | None = None) -> Iterator[GridBatch]:
    """Batches ``first, first + 1, ...`` of stream ``seed`` without end, each :func:`grid_batch`.

    With ``workers > 1`` they are made in that many processes, ``ahead`` batches (default
    ``2 * workers``) in flight at a time; the pool shuts down when the iterator is closed.
    """
    if workers < 1 or batch_size < 1:
        raise ValueError(f"need workers >= 1 and batch_size >= 1, got workers={workers}, batch_size={batch_size}.")
    if workers == 1:
        pools = load_pools(config.split)
        yield from (grid_batch(config, seed, index, batch_size, pools) for index in itertools.count(first))
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_load_pools, initargs=(config.split,)) as pool:
        indices = itertools.count(first)
        pending = deque(pool.submit(grid_batch, config, seed, next(indices), batch_size)
                        for _ in range(ahead or 2 * workers))
        try:
            while True:
                done = pending.popleft().result()
                pending.append(pool.submit(grid_batch, config, seed, next(indices), batch_size))
                yield done
        finally:
            for future in pending:
                future.cancel()
