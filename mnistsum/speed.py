"""Timing the vectorised generator against the per-image yardstick loop.

The yardstick, ``benchmarks/reference_loop.py``, is a plain Python loop written
from the reference recipe. Both run on one core, interleaved round by round so
that they see the same machine. :func:`profile_generator` says where the
generator's own time goes, stage by stage.
"""

from __future__ import annotations

import cProfile
import importlib.util
import os
import pstats
import statistics
import time
from pathlib import Path

import numpy as np

from mnistsum import generator
from mnistsum.generator import CanvasConfig, generate, load_pools
from mnistsum.paths import repo_root


def load_yardstick():
    """Import ``benchmarks/reference_loop.py`` from the repository checkout."""
    path = (repo_root() or Path.cwd()) / "benchmarks" / "reference_loop.py"
    if not path.exists():
        raise FileNotFoundError(f"the yardstick needs the repository checkout: {path} is missing.")
    spec = importlib.util.spec_from_file_location("reference_loop", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pin_to_one_core() -> None:
    """Restrict this process to one CPU core (where the OS allows it)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def compare_speed(rounds: int = 5, batch_size: int = 256, loop_images: int = 200, verbose: bool = True) -> dict:
    """Median images/s of :func:`generate` and of the yardstick loop over ``rounds``."""
    if rounds < 1 or batch_size < 1 or loop_images < 1:
        raise ValueError("rounds, batch_size and loop_images must all be at least 1.")
    loop = load_yardstick()
    config = CanvasConfig(split="train")
    pools = load_pools("train")
    generate(config, 0, range(batch_size), pools)  # warm up caches
    vec_rates, loop_rates = [], []
    for r in range(rounds):
        start = time.perf_counter()
        for k in range(4):
            generate(config, r, np.arange(k * batch_size, (k + 1) * batch_size), pools)
        vec_rates.append(4 * batch_size / (time.perf_counter() - start))
        start = time.perf_counter()
        loop.make_batch(loop_images, r, pools.digits, pools.labels, pools.clutter)
        loop_rates.append(loop_images / (time.perf_counter() - start))
        if verbose:
            print(f"round {r}: generator {vec_rates[-1]:,.0f} images/s, loop {loop_rates[-1]:,.0f} images/s",
                  flush=True)
    vec, ref = statistics.median(vec_rates), statistics.median(loop_rates)
    return {"generator_images_per_s": round(vec, 1), "reference_loop_images_per_s": round(ref, 1),
            "speedup": round(vec / ref, 2), "batch_size": batch_size, "rounds": rounds}


#: The stages of :func:`~mnistsum.generator.generate`, in the order they run, and what each does.
GENERATOR_STAGES = {
    "draw": "random numbers: each sample's own SFC64 stream",
    "place": "placement: rejection sampling of every digit and clutter slot, across the batch",
    "paste": "pasting the chosen 28x28 patches into uint8 canvases",
    "render": "pixels: ink times patch plus noise, as float32",
    "annotate": "annotations: sums; placed digits and boxes first, -1 padded",
}


def profile_generator(batches: int = 20, batch_size: int = 256, config: CanvasConfig | None = None) -> dict:
    """Where :func:`~mnistsum.generator.generate`'s time goes: microseconds per canvas in each of
    :data:`GENERATOR_STAGES`, ``other`` (choosing the patches, labels, Python) and ``total``.

    ``sfc64`` is the time numpy's SFC64 alone takes to make a sample's words (timed apart, one
    ``random_raw`` call per sample, as ``draw`` makes them): a floor under ``draw`` for any code that
    draws the same stream. Stages are measured with :mod:`cProfile`, which adds a little to every
    numpy call. The batches run back to back, so the total is near the generator's steady speed;
    :func:`compare_speed`'s shorter rounds each start cold after the loop's, and see more. Pin the
    process to one core first (:func:`pin_to_one_core`) for one-core figures.
    """
    if batches < 1 or batch_size < 1:
        raise ValueError(f"batches and batch_size must be at least 1, got {batches} and {batch_size}.")
    config = config or CanvasConfig(split="train")
    pools = load_pools(config.split)
    generate(config, 0, range(batch_size), pools)  # warm up caches
    profiler = cProfile.Profile()
    profiler.enable()
    for k in range(batches):
        generate(config, 1, np.arange(k * batch_size, (k + 1) * batch_size), pools)
    profiler.disable()
    # pstats keys are (file, line, function); values (calls, primitive calls, own time, cumulative time, callers)
    cumulative = {key[2]: value[3] for key, value in pstats.Stats(profiler).stats.items()
                  if key[0] == generator.__file__}
    per_canvas = 1e6 / (batches * batch_size)
    stages = {name: cumulative[f"_{name}"] * per_canvas for name in GENERATOR_STAGES}
    total = cumulative["generate"] * per_canvas
    return {**stages, "other": total - sum(stages.values()), "total": total,
            "sfc64": _sfc64_time(config, batches * batch_size)}


def _sfc64_time(config: CanvasConfig, samples: int) -> float:
    """Microseconds per sample for numpy's SFC64 to make one sample's stream, discarded words included."""
    bitgen, words = np.random.SFC64(0), generator._DISCARD + sum(generator._stream_words(config))
    start = time.perf_counter()
    for _ in range(samples):
        bitgen.random_raw(words)
    return (time.perf_counter() - start) * 1e6 / samples


def show_profile(profile: dict) -> None:
    """Print :func:`profile_generator`'s figures as a table, with each stage's share of the total."""
    for name, what in {**GENERATOR_STAGES, "other": "choosing the patches, labels, Python"}.items():
        print(f"{name:>9} {profile[name]:5.1f} µs {profile[name] / profile['total']:4.0%}  {what}")
    print(f"{'total':>9} {profile['total']:5.1f} µs per canvas, {1e6 / profile['total']:,.0f} canvases/s")
    print(f"{'sfc64':>9} {profile['sfc64']:5.1f} µs of draw is numpy's SFC64 making the words: a floor")
