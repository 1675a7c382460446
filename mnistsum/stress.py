"""A stress test of the sum models: canvases whose digits are partly *muddled* (notebook 10).

A muddled digit (:mod:`mnistsum.autoencoder`) sits between its source digit and a
neighbouring class; on the canvas it still counts as its source digit. The test
scores the models on the benchmark canvases while a growing share of their digits
is swapped for muddled ones. Positions, clutter and noise stay the same (see
:attr:`mnistsum.generator.CanvasConfig.muddled_share`), so only the digits change.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from mnistsum.autoencoder import TRIES, Muddled, muddle, shipped_muddler
from mnistsum.benchmark import BENCHMARK_CONFIG, BENCHMARK_SEED
from mnistsum.generator import Pools, generate, load_pools, with_muddled

SHARES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def muddled_pools(split: str = "test", per_digit: int = 100, seed: int = 0, method: str = "balanced",
                  tries: int = TRIES) -> tuple[Pools, Muddled]:
    """The ``split``'s pools plus ``per_digit`` muddled digits of each class 0-9, made from that split's
    own MNIST digits with the shipped auto-encoder and classifier (digit ``d`` uses seed ``seed + d``).

    Returns the pools and the muddled digits with their sources and partners.
    """
    encoder, decoder, classifier, means = shipped_muddler()
    pools = load_pools(split)
    parts = [muddle(encoder, decoder, pools.digits, pools.labels, means, d, per_digit, seed + d, method, classifier,
                    tries=tries) for d in range(10)]
    muddled = Muddled(*(np.concatenate([getattr(m, f.name) for m in parts]) for f in dataclasses.fields(Muddled)))
    return with_muddled(pools, muddled.images, muddled.source), muddled


@dataclass
class Reading:
    """A model's predicted sums, and how sure it is of each (``None`` for a regression)."""

    sums: np.ndarray
    confidence: np.ndarray | None


def _read_regression(model: keras.Model, images: np.ndarray) -> Reading:
    return Reading(np.rint(model.predict(images, batch_size=64, verbose=0).reshape(-1)).astype(int), None)


def _read_detections(model: keras.Model, images: np.ndarray) -> Reading:
    from mnistsum.detector import detect

    found = detect(model, images)
    # the chance that every digit read is right, if the detector's probabilities are honest
    return Reading(found.sums, np.where(found.digits >= 0, found.confidence, 1.0).prod(axis=1))


#: How each kind of sum model is read: the baseline regresses, sum-only answers the most likely sum of its
#: value map (both a number, rounded), best detects digits.
READERS: dict[str, Callable[[keras.Model, np.ndarray], Reading]] = {
    "baseline": _read_regression, "sum-only": _read_regression, "best": _read_detections,
}


@dataclass
class StressResult:
    """Sum accuracy and confidence of each model at each share of muddled digits."""

    shares: np.ndarray  # (S,) the config's muddled_share
    muddled_digits: np.ndarray  # (S,) the share of the canvases' digits that really were muddled
    accuracy: dict[str, np.ndarray]  # model -> (S,)
    confidence: dict[str, np.ndarray]  # model -> (S,) mean confidence, for models that have one
    confidence_right: dict[str, np.ndarray]  # model -> (S,) mean confidence on the canvases it got right
    confidence_wrong: dict[str, np.ndarray]  # ... and on those it got wrong (NaN where there are none)
    #: model -> (max_digits + 1,) accuracy by the number of muddled digits on a canvas, over all shares
    by_muddled_count: dict[str, np.ndarray]
    n: int

    def table(self) -> str:
        """A Markdown table: one row per share, one column per model (sum accuracy, and the mean
        confidence where the model gives one)."""
        names = list(self.accuracy)
        rows = ["| muddled share | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
        for i, share in enumerate(self.shares):
            cells = [f"{self.accuracy[m][i]:.1%}" + (f" (conf. {self.confidence[m][i]:.2f})" if m in self.confidence
                                                     else "") for m in names]
            rows.append(f"| {share:.0%} ({self.muddled_digits[i]:.1%} of digits) | " + " | ".join(cells) + " |")
        return "\n".join(rows)

    def to_json(self) -> dict:
        """A JSON-ready dict (``from_json`` reads it back)."""
        def listed(values: np.ndarray) -> list:  # NaN (no such canvases) becomes null: strict JSON
            return [None if np.isnan(v) else float(v) for v in values]

        return {f.name: ({k: listed(v) for k, v in value.items()} if isinstance(value, dict)
                         else listed(value) if isinstance(value, np.ndarray) else value)
                for f in dataclasses.fields(self) for value in [getattr(self, f.name)]}

    @classmethod
    def from_json(cls, record: dict) -> "StressResult":
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: ({m: np.asarray(v, float) for m, v in value.items()} if isinstance(value, dict)
                          else np.asarray(value, float) if isinstance(value, list) else value)
                      for k, value in record.items() if k in fields})


def _arrays(lists: dict[str, list]) -> dict[str, np.ndarray]:
    return {name: np.asarray(values, float) for name, values in lists.items()}


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else float("nan")


def stress_test(models: dict[str, keras.Model], pools: Pools, shares: Sequence[float] = SHARES, n: int = 1_000,
                seed: int = BENCHMARK_SEED) -> StressResult:
    """Score ``models`` (names from :data:`READERS`) on the first ``n`` benchmark canvases at each ``share``."""
    unknown = set(models) - set(READERS)
    if unknown:
        raise ValueError(f"no reader for {sorted(unknown)}: the stress test knows {sorted(READERS)}.")
    if n < 1 or not shares:
        raise ValueError(f"need n >= 1 and at least one share, got n={n}, shares={list(shares)}.")
    max_digits = BENCHMARK_CONFIG.max_digits
    accuracy, confidence, right, wrong = (defaultdict(list) for _ in range(4))
    hits_by_count = {name: np.zeros(max_digits + 1) for name in models}
    canvases_by_count = np.zeros(max_digits + 1)
    muddled_digits = []
    for share in shares:
        batch = generate(BENCHMARK_CONFIG.replace(muddled_share=float(share)), seed, range(n), pools)
        muddled_digits.append(batch.muddled.sum() / max(batch.n_digits.sum(), 1))
        count = batch.muddled.sum(axis=1)
        canvases_by_count += np.bincount(count, minlength=max_digits + 1)
        for name, model in models.items():
            reading = READERS[name](model, batch.images)
            hit = reading.sums == batch.sums
            accuracy[name].append(hit.mean())
            hits_by_count[name] += np.bincount(count, weights=hit, minlength=max_digits + 1)
            if reading.confidence is not None:
                confidence[name].append(reading.confidence.mean())
                right[name].append(_mean(reading.confidence[hit]))
                wrong[name].append(_mean(reading.confidence[~hit]))
    with np.errstate(invalid="ignore"):
        by_count = {name: hits / canvases_by_count for name, hits in hits_by_count.items()}
    return StressResult(np.asarray(shares, float), np.asarray(muddled_digits), *map(_arrays, (accuracy, confidence,
                        right, wrong)), by_count, n)


def digit_outcomes(matched: np.ndarray, digits: np.ndarray, muddled: np.ndarray) -> dict[str, dict[str, float]]:
    """How the detector read the original and the muddled digits (``matched`` from
    :func:`mnistsum.detector.match`): the share read as their label, as another digit, or missed.

    >>> digits = np.array([[3, 5, -1]]); muddled = np.array([[False, True, False]])
    >>> digit_outcomes(np.array([[3, 8, -2]]), digits, muddled)["muddled"]
    {'as labelled': 0.0, 'as another digit': 1.0, 'missed': 0.0, 'n': 1}
    """
    outcomes = {}
    for kind, mask in (("original", (digits >= 0) & ~muddled), ("muddled", (digits >= 0) & muddled)):
        got, truth = matched[mask], digits[mask]
        n = max(len(got), 1)
        outcomes[kind] = {"as labelled": float((got == truth).sum() / n),
                          "as another digit": float(((got >= 0) & (got != truth)).sum() / n),
                          "missed": float((got == -1).sum() / n), "n": int(len(got))}
    return outcomes


RESULT_NAME = "stress_test"


def save_result(result: StressResult, pool_size: int) -> Path | None:
    """Record a full run in ``results/stress_test.json`` (for the README); quick mode records nothing."""
    from mnistsum.quick import is_quick
    from mnistsum.results import hardware_description, write_result

    if is_quick():
        return None
    record = {"model": RESULT_NAME, **result.to_json(), "muddled_pool": f"{pool_size} balanced muddled MNIST "
              "test digits", "benchmark": {"split": "test", "seed": BENCHMARK_SEED, "n": result.n},
              "hardware": hardware_description(), "date": time.strftime("%Y-%m-%d")}
    return write_result(record)


def load_result() -> StressResult | None:
    """The recorded stress test, or None."""
    from mnistsum.results import load_result as load

    record = load(RESULT_NAME)
    return StressResult.from_json(record) if record else None
