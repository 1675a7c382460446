"""The per-image yardstick loop implements the same recipe as the vectorised generator."""

import numpy as np

from mnistsum.generator import CanvasConfig, generate, load_pools
from mnistsum.speed import load_yardstick

loop = load_yardstick()


def test_loop_and_generator_make_the_same_distribution():
    pools = load_pools("test")
    images, sums = loop.make_batch(400, 0, pools.digits, pools.labels, pools.clutter)
    ours = generate(CanvasConfig(split="test"), 0, range(2000))
    assert images.shape == (400, 128, 128, 1) and images.dtype == np.float32
    assert abs(sums.mean() - ours.sums.mean()) < 1.0  # both about 22.5
    assert abs(images.mean() - ours.images.mean()) < 0.01  # same ink and noise levels
    assert images.min() >= 0 and images.max() <= 1
