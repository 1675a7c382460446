"""Timing the vectorised generator against the per-image yardstick loop.

The yardstick, ``benchmarks/reference_loop.py``, is a plain Python loop written
from the reference recipe. Both run on one core, interleaved round by round so
that they see the same machine.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import time
from pathlib import Path

import numpy as np

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
