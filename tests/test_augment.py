"""Digit augmentation: warped copies of the training digits, for training canvases only."""

import numpy as np
import pytest

from mnistsum.augment import (DigitAugment, augmented_pools, rotation_matrices, turned_clutter, turned_pools,
                              warp_digits)
from mnistsum.feed import canvas_batches, training_pools
from mnistsum.generator import CanvasConfig, Pools, generate, load_pools


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


def test_elastic_fields_are_smooth_seeded_and_as_strong_as_asked():
    augment = DigitAugment(elastic=34.0)
    field = augment.displacements(400, np.random.default_rng(1))
    assert field.shape == (400, 2, 28, 28) and field.dtype == np.float32
    np.testing.assert_array_equal(field, augment.displacements(400, np.random.default_rng(1)))
    assert 1.0 < field.std() < 2.0, "Simard's alpha 34, sigma 4 moves pixels by about 1.3 pixels"
    np.testing.assert_allclose(DigitAugment(elastic=17.0).displacements(400, np.random.default_rng(1)), field / 2,
                               rtol=1e-5, atol=1e-6)
    neighbours = np.corrcoef(field[..., :-1].ravel(), field[..., 1:].ravel())[0, 1]
    assert neighbours > 0.9, "a smoothed field moves neighbouring pixels together"
    rough = DigitAugment(elastic=34.0, elastic_sigma=0.5).displacements(400, np.random.default_rng(1))
    assert np.corrcoef(rough[..., :-1].ravel(), rough[..., 1:].ravel())[0, 1] < neighbours


def test_a_displacement_moves_where_each_pixel_reads():
    digits, identity = _pools().digits, np.tile(np.eye(2), (6, 1, 1))
    still = np.zeros((6, 2, 28, 28), np.float32)
    np.testing.assert_array_equal(warp_digits(digits, identity, still), digits)
    right = still.copy()
    right[:, 1] = 1.0  # every pixel reads the pixel to its right: the digit moves one pixel left
    np.testing.assert_array_equal(warp_digits(digits, identity, right)[:, :, :-1], digits[:, :, 1:])
    with pytest.raises(ValueError, match="displacements"):
        warp_digits(digits, identity, still[:3])


def test_elastic_copies_are_distorted_and_leave_the_affine_warps_alone():
    pools = _pools()
    n, affine = len(pools.digits), DigitAugment(copies=2, seed=5)
    elastic = augmented_pools(pools, DigitAugment(copies=2, seed=5, elastic=34.0))
    np.testing.assert_array_equal(elastic.digits[:n], pools.digits)
    assert not np.array_equal(elastic.digits[n:], augmented_pools(pools, affine).digits[n:])
    np.testing.assert_array_equal(elastic.digits, augmented_pools(pools, DigitAugment(copies=2, seed=5,
                                                                                      elastic=34.0)).digits)
    assert "elastic=34.0" in elastic.digit_source


@pytest.mark.parametrize("kwargs, message", [
    ({"copies": 0}, "copies"), ({"copies": 2.0}, "copies"), ({"rotation": -1.0}, "rotation"),
    ({"scale": 0.9}, "scale"), ({"shear": "x"}, "shear"), ({"elastic": -1.0}, "elastic"),
    ({"elastic_sigma": 0.0}, "elastic_sigma"),
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


def test_flipped_clutter_adds_three_flips_of_each_piece_for_training_only():
    pools = load_pools("val")
    flipped = training_pools("train", flip_clutter=True)
    n = len(pools.clutter)
    assert len(flipped.clutter) == 4 * n and flipped.digits.shape == load_pools("train").digits.shape
    np.testing.assert_array_equal(flipped.clutter[:n], pools.clutter)
    np.testing.assert_array_equal(flipped.clutter[n: 2 * n], pools.clutter[:, :, ::-1])
    np.testing.assert_array_equal(flipped.clutter[3 * n:], np.rot90(pools.clutter, 2, (1, 2)))
    assert "upside down" in flipped.clutter_source
    with pytest.raises(ValueError, match="flipped clutter is for training canvases only"):
        training_pools("test", flip_clutter=True)
    with pytest.raises(ValueError, match="how='sideways' is invalid"):
        turned_clutter(pools.clutter, "sideways")


def test_turned_pools_turn_only_the_clothes():
    pools = load_pools("val")
    turned = turned_pools(pools, "turned clockwise")
    config = CanvasConfig(split="val")
    plain, other = generate(config, 3, range(8), pools), generate(config, 3, range(8), turned)
    for field in ("sums", "digits", "boxes", "clutter_boxes", "digit_ids"):
        np.testing.assert_array_equal(getattr(plain, field), getattr(other, field))
    assert not np.array_equal(plain.images, other.images), "the clothes look different"
    assert turned.clutter_source == "Fashion-MNIST train, turned clockwise"
    np.testing.assert_array_equal(turned.clutter[0], np.rot90(pools.clutter[0], -1))
