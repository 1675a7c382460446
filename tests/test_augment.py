"""Digit augmentation: warped copies of the training digits, for training canvases only."""

import numpy as np
import pytest

from mnistsum.augment import DigitAugment, augmented_pools, rotation_matrices, warp_digits
from mnistsum.feed import canvas_batches, training_pools
from mnistsum.generator import CanvasConfig, Pools, load_pools


def _pools(n=6):
    rng = np.random.default_rng(0)
    digits = np.zeros((n, 28, 28), np.uint8)
    digits[:, 6:22, 10:18] = rng.integers(100, 256, (n, 16, 8))
    return Pools(digits, np.arange(n, dtype=np.uint8) % 10, np.zeros((1, 28, 28), np.uint8), "digits",
                 np.arange(100, 100 + n), "clutter")


def test_the_identity_warp_gives_the_digits_back():
    digits = _pools().digits
    np.testing.assert_array_equal(warp_digits(digits, np.tile(np.eye(2), (len(digits), 1, 1))), digits)


def test_a_quarter_turn_is_a_transpose_and_a_flip():
    digits = _pools().digits
    turned = warp_digits(digits, rotation_matrices(np.full(len(digits), 90.0)))
    # either quarter turn: what matters is that it is exact on the pixel grid and keeps the ink
    assert any(np.array_equal(turned, np.rot90(digits, k, axes=(1, 2))) for k in (1, 3))


def test_augmented_pools_keep_the_originals_and_label_every_copy():
    pools = _pools()
    augment = DigitAugment(copies=3, seed=5)
    more = augmented_pools(pools, augment)
    n = len(pools.digits)
    assert more.digits.shape == (4 * n, 28, 28) and more.digits.dtype == np.uint8
    np.testing.assert_array_equal(more.digits[:n], pools.digits)
    np.testing.assert_array_equal(more.labels, np.tile(pools.labels, 4))
    np.testing.assert_array_equal(more.digit_ids, np.tile(pools.digit_ids, 4))
    assert not np.array_equal(more.digits[n: 2 * n], pools.digits), "the copies are warped"
    ink = more.digits.reshape(4, n, -1).sum(-1).astype(float)
    assert np.all(np.abs(ink[1:] / ink[0] - 1) < 0.5), "a small warp keeps about the same ink"
    assert "3 warped copies" in more.digit_source
    np.testing.assert_array_equal(augmented_pools(pools, augment).digits, more.digits)  # seeded


@pytest.mark.parametrize("kwargs, message", [
    ({"copies": 0}, "copies"), ({"copies": 2.0}, "copies"), ({"rotation": -1.0}, "rotation"),
    ({"scale": 0.9}, "scale"), ({"shear": "x"}, "shear"),
])
def test_bad_augmentation_says_what_to_change(kwargs, message):
    with pytest.raises(ValueError, match=f"DigitAugment.{message}"):
        DigitAugment(**kwargs)


def test_only_training_canvases_are_augmented():
    augment = DigitAugment(copies=1)
    assert len(training_pools("train", augment).digits) == 2 * len(load_pools("train").digits)
    with pytest.raises(ValueError, match="training canvases only"):
        training_pools("val", augment)
    with pytest.raises(ValueError, match="training canvases only"):
        next(canvas_batches(CanvasConfig(split="test"), 1, 2, workers=2, augment=augment))


def test_workers_draw_from_the_same_augmented_pool():
    config, augment = CanvasConfig(split="train"), DigitAugment(copies=1, seed=3)
    one = next(canvas_batches(config, 4, 3, augment=augment))
    two = canvas_batches(config, 4, 3, workers=2, augment=augment)
    try:
        for a, b in zip(one, next(two), strict=True):
            np.testing.assert_array_equal(a, b)
    finally:
        two.close()
    plain = next(canvas_batches(config, 4, 3))
    assert not np.array_equal(plain[0], one[0]), "the larger pool changes which digits are drawn"
