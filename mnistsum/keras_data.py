"""Feeding Keras: a ``keras.utils.PyDataset`` and a ``tf.data`` pipeline.

Both serve batch *i* as samples ``[i * batch_size, (i + 1) * batch_size)`` of one
seeded stream, so the data is the same with any number of workers, with threads
or processes, and with either wrapper.

The reference generator subclassed ``keras.utils.Sequence`` and assigned
``self.num_batches``, which Keras 3 turned into a read-only property; here
:meth:`CanvasDataset.num_batches` is computed instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import numpy as np

from mnistsum.feed import sum_target
from mnistsum.generator import CanvasBatch, CanvasConfig, Pools, generate, load_pools

Targets = Callable[[CanvasBatch], object]


def sum_targets(batch: CanvasBatch) -> np.ndarray:
    """The regression target: the sum, as float32 ``(B, 1)`` (:func:`mnistsum.feed.sum_target`, unpacked)."""
    return sum_target(batch)[0]


class CanvasDataset(keras.utils.PyDataset):
    """``n_samples`` canvases of stream ``seed``, served in batches to ``model.fit``.

    ``targets`` turns a :class:`CanvasBatch` into what the model learns
    (default: the sum). With ``fresh_each_epoch=True`` epoch *e* serves samples
    ``[e * n_samples, (e + 1) * n_samples)``, so training never sees an image
    twice; otherwise every epoch serves the same images (right for validation).
    ``workers``/``use_multiprocessing``/``max_queue_size`` go to ``PyDataset``.

    >>> ds = CanvasDataset(CanvasConfig(split="val"), seed=1, n_samples=10, batch_size=4)
    >>> len(ds), ds[2][0].shape
    (3, (2, 128, 128, 1))
    """

    def __init__(self, config: CanvasConfig, seed: int, n_samples: int, batch_size: int = 64,
                 targets: Targets = sum_targets, pools: Pools | None = None,
                 fresh_each_epoch: bool = False, **pydataset_kwargs):
        super().__init__(**pydataset_kwargs)
        if n_samples < 1 or batch_size < 1:
            raise ValueError(f"need n_samples >= 1 and batch_size >= 1, got {n_samples} and {batch_size}.")
        self.config, self.seed = config, seed
        self.n_samples, self.batch_size = n_samples, batch_size
        self.targets = targets
        self.fresh_each_epoch = fresh_each_epoch
        self.epoch = 0
        self.pools = pools if pools is not None else load_pools(config.split)

    def __len__(self) -> int:
        return math.ceil(self.n_samples / self.batch_size)

    @property
    def num_batches(self) -> int:
        return len(self)

    def batch(self, index: int) -> CanvasBatch:
        """Batch ``index`` with all its annotations."""
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range for {len(self)} batches.")
        first = self.epoch * self.n_samples
        start = first + index * self.batch_size
        stop = min(start + self.batch_size, first + self.n_samples)
        return generate(self.config, self.seed, np.arange(start, stop), self.pools)

    def on_epoch_end(self) -> None:
        if self.fresh_each_epoch:
            self.epoch += 1

    def __getitem__(self, index: int):
        batch = self.batch(index)
        return batch.images, self.targets(batch)


def make_tf_dataset(config: CanvasConfig, seed: int, n_samples: int, batch_size: int = 64,
                    parallel_calls: int | None = None):
    """The same batches as :class:`CanvasDataset` (sum targets), as a ``tf.data.Dataset``.

    The numpy generator runs inside ``tf.numpy_function``; ``deterministic=True``
    keeps batch order fixed even with parallel calls.
    """
    import tensorflow as tf

    source = CanvasDataset(config, seed, n_samples, batch_size)
    size = config.canvas_size

    def load(index):
        images, sums = tf.numpy_function(lambda i: source[int(i)], [index], [tf.float32, tf.float32])
        images.set_shape([None, size, size, 1])
        sums.set_shape([None, 1])
        return images, sums

    calls = parallel_calls if parallel_calls is not None else tf.data.AUTOTUNE
    return (tf.data.Dataset.range(len(source))
            .map(load, num_parallel_calls=calls, deterministic=True)
            .prefetch(tf.data.AUTOTUNE))
