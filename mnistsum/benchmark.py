"""The fixed benchmark test set every model in the course is scored on.

10 000 canvases of the ``test`` split (MNIST test digits, Fashion-MNIST test
clutter) with the default recipe and seed :data:`BENCHMARK_SEED`. Sample *i* is
always the same image, so the first *n* images of the quick mode are the first
*n* of the full set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistsum.generator import CanvasConfig, iter_batches
from mnistsum.metrics import sum_accuracy, sum_mae
from mnistsum.quick import pick

BENCHMARK_SEED = 20_261_124
BENCHMARK_SIZE = 10_000
BENCHMARK_CONFIG = CanvasConfig(split="test")


def benchmark_size() -> int:
    """10 000 images, or 256 in quick mode."""
    return pick(full=BENCHMARK_SIZE, quick=256)


@dataclass
class Evaluation:
    """Predictions on a set of canvases, with the annotations to slice them by."""

    sums: np.ndarray  # (N,) true sums
    predictions: np.ndarray  # (N,) predicted sums (float)
    digits: np.ndarray  # (N, max_digits) -1 padded
    boxes: np.ndarray  # (N, max_digits, 4)
    n_clutter: np.ndarray  # (N,)
    indices: np.ndarray  # (N,) sample indices in the benchmark stream

    @property
    def n_digits(self) -> np.ndarray:
        return (self.digits >= 0).sum(axis=1)

    @property
    def residuals(self) -> np.ndarray:
        """Rounded prediction minus true sum: 0 is a hit, ±1 a near miss."""
        return np.rint(self.predictions).astype(int) - self.sums

    def sum_accuracy(self) -> float:
        return sum_accuracy(self.sums, self.predictions)

    def mae(self) -> float:
        return sum_mae(self.sums, self.predictions)


def evaluate_sum_model(predict, n: int | None = None, batch_size: int = 256,
                       config: CanvasConfig = BENCHMARK_CONFIG, seed: int = BENCHMARK_SEED) -> Evaluation:
    """Score ``predict`` (images -> predicted sums) on the first ``n`` benchmark images.

    ``predict`` is any callable, for example ``lambda x: model.predict(x, verbose=0)``.
    Images are generated batch by batch, so 10 000 of them never sit in memory at once.
    """
    n = benchmark_size() if n is None else n
    parts = []
    for batch in iter_batches(config, seed, n, batch_size):
        pred = np.asarray(predict(batch.images), dtype=np.float64).reshape(-1)
        if pred.shape != batch.sums.shape:
            raise ValueError(f"predict returned {pred.size} values for {len(batch)} images.")
        parts.append((batch.sums, pred, batch.digits, batch.boxes, batch.n_clutter, batch.indices))
    return Evaluation(*(np.concatenate(col) for col in zip(*parts)))


#: Seed of the independent check's canvases (a stream of the yardstick loop, not of the generator).
INDEPENDENT_SEED = 2_024


def independent_canvases(n: int, seed: int = INDEPENDENT_SEED) -> tuple[np.ndarray, np.ndarray] | None:
    """``n`` test-split canvases and sums made by an *independent* implementation of the recipe.

    The per-image loop ``benchmarks/reference_loop.py`` was written from the recipe, not from
    :mod:`mnistsum.generator`, and uses its own random stream (and float64 noise), so a model that scores
    as well on these canvases has not learnt a quirk of our generator. It needs the repository checkout;
    elsewhere (a pip install, Colab) this prints why and returns None.
    """
    from mnistsum.generator import load_pools
    from mnistsum.speed import load_yardstick

    try:
        yardstick = load_yardstick()
    except FileNotFoundError as error:
        print(f"No independent check here: {error}")
        return None
    pools = load_pools("test")
    return yardstick.make_batch(n, seed, pools.digits, pools.labels, pools.clutter)
