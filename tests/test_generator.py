"""The canvas generator: determinism, splits, annotations, validation, statistics."""

import hashlib
import re

import numpy as np
import pytest

from mnistsum.generator import (PATCH, CanvasConfig, concat_batches, generate, iter_batches, load_pools,
                                sample_states, with_muddled)

TEST = CanvasConfig(split="test")


@pytest.fixture(scope="module")
def batch():
    return generate(TEST, seed=7, indices=range(300))


def test_same_seed_same_bytes_whatever_the_batch_size(batch):
    for size in (1, 7, 64, 299):
        again = concat_batches(iter_batches(TEST, 7, 300, batch_size=size))
        assert again.images.tobytes() == batch.images.tobytes()
        np.testing.assert_array_equal(again.boxes, batch.boxes)
        np.testing.assert_array_equal(again.clutter_boxes, batch.clutter_boxes)
        np.testing.assert_array_equal(again.digit_ids, batch.digit_ids)


def test_sample_depends_only_on_seed_and_index(batch):
    shuffled = np.random.default_rng(0).permutation(300)
    again = generate(TEST, 7, shuffled)
    np.testing.assert_array_equal(again.images, batch.images[shuffled])
    np.testing.assert_array_equal(again.sums, batch.sums[shuffled])


def test_different_seeds_differ(batch):
    other = generate(TEST, 8, range(300))
    assert not np.array_equal(other.sums, batch.sums)
    assert len({tuple(state) for state in sample_states(7, np.arange(1000))}) == 1000


def test_sums_match_annotated_digits(batch):
    assert np.array_equal(batch.sums, np.where(batch.digits >= 0, batch.digits, 0).sum(axis=1))
    assert ((batch.digits >= -1) & (batch.digits <= 9)).all()
    # padding only at the end, and boxes padded exactly where digits are
    placed = batch.digits >= 0
    assert (np.sort(~placed, axis=1, kind="stable") == ~placed).all()
    assert np.array_equal(batch.boxes[..., 0] >= 0, placed)


def test_boxes_lie_in_the_canvas_and_never_overlap(batch):
    for digit_boxes, clutter_boxes in zip(batch.boxes, batch.clutter_boxes):
        boxes = np.concatenate([digit_boxes, clutter_boxes])
        boxes = boxes[boxes[:, 0] >= 0]
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2:] <= 128).all()
        assert (boxes[:, 2:] - boxes[:, :2] == PATCH).all()
        for i in range(len(boxes)):
            for j in range(i):
                a, b = boxes[i], boxes[j]
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_pixels_outside_patches_are_noise_only(batch):
    mask = np.zeros(batch.images.shape[:3], bool)
    for i in range(len(batch)):
        for x0, y0, x1, y1 in np.concatenate([batch.boxes[i], batch.clutter_boxes[i]]):
            if x0 >= 0:
                mask[i, y0:y1, x0:x1] = True
    background = batch.images[..., 0][~mask]
    assert background.max() < 0.2 and background.min() >= 0
    assert abs(background.mean() - 0.1) < 0.002  # U(0, 0.2) has mean 0.1
    assert batch.images.min() >= 0 and batch.images.max() <= 1 and batch.images.dtype == np.float32


def test_digit_boxes_hold_the_digit_ink(batch):
    # every MNIST digit has a pixel of 255 or close: 0.8 ink + noise is far above pure noise
    for i in range(20):
        for x0, y0, x1, y1 in batch.boxes[i][batch.digits[i] >= 0]:
            assert batch.images[i, y0:y1, x0:x1].max() > 0.6


def test_reference_statistics():
    big = generate(CanvasConfig(split="val"), 3, range(2000))
    counts = np.bincount(big.n_digits, minlength=6)
    assert counts[5] / 2000 > 0.95  # almost every image gets all 5 digits
    assert 21.5 < big.sums.mean() < 23.5  # 5 digits averaging 4.5
    assert 3 < big.n_clutter.mean() < 6  # clutter fills what room is left


def test_variable_digit_count_covers_zero_to_five():
    varied = generate(CanvasConfig(split="test", variable_digits=True), 0, range(600))
    counts = np.bincount(varied.n_digits, minlength=6)
    assert (counts > 60).all(), counts
    assert (varied.sums[varied.n_digits == 0] == 0).all()


def test_no_digits_or_no_clutter():
    empty = generate(CanvasConfig(split="test", max_digits=0, max_clutter=0), 0, range(5))
    assert (empty.sums == 0).all() and empty.digits.shape == (5, 0)
    assert empty.images.max() < 0.2


def test_empty_index_list():
    nothing = generate(TEST, 0, [])
    assert nothing.images.shape == (0, 128, 128, 1) and nothing.sums.shape == (0,)


def _hashes(images):
    return {hashlib.sha1(x.tobytes()).hexdigest() for x in images}


def test_split_pools_are_disjoint():
    train, val, test = (load_pools(s) for s in ("train", "val", "test"))
    assert train.digit_ids.max() < val.digit_ids.min()  # MNIST train [0, 50k) vs [50k, 60k)
    assert len(train.digits) == 50_000 and len(val.digits) == 10_000 and len(test.digits) == 10_000
    assert test.digit_source == "MNIST test" and test.clutter_source == "Fashion-MNIST test"
    hashes = [_hashes(p.digits) for p in (train, val, test)]
    assert not (hashes[0] & hashes[1]) and not (hashes[0] & hashes[2]) and not (hashes[1] & hashes[2])
    assert not (_hashes(train.clutter) & _hashes(test.clutter))


@pytest.mark.parametrize("changes, field", [
    ({"canvas_size": 20}, "canvas_size"),
    ({"max_digits": -1}, "max_digits"),
    ({"max_clutter": -3}, "max_clutter"),
    ({"digit_attempts": 0}, "digit_attempts"),
    ({"noise": 1.5}, "noise"),
    ({"noise": -0.1}, "noise"),
    ({"ink": 0.9}, "ink + noise"),
    ({"split": "validation"}, "split"),
    ({"max_digits": 2.5}, "max_digits"),
    ({"muddled_share": 1.2}, "muddled_share"),
    ({"muddled_share": -0.5}, "muddled_share"),
])
def test_bad_config_names_the_field_and_range(changes, field):
    with pytest.raises(ValueError, match=f"CanvasConfig\\.{re.escape(field)}.*must"):
        CanvasConfig(**changes)


@pytest.mark.parametrize("seed", [-1, 2**63, 1.5, True])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        generate(TEST, seed, [0])


def test_small_canvas_still_works():
    small = generate(CanvasConfig(split="test", canvas_size=56, max_digits=4), 1, range(50))
    assert small.images.shape == (50, 56, 56, 1)
    assert (small.n_digits <= 4).all() and (small.boxes[small.boxes >= 0] <= 56).all()


def test_changing_only_clutter_keeps_the_digits():
    plain = generate(CanvasConfig(split="test", max_clutter=0, noise=0.0), 5, range(50))
    full = generate(CanvasConfig(split="test"), 5, range(50))
    np.testing.assert_array_equal(plain.boxes, full.boxes)
    np.testing.assert_array_equal(plain.digits, full.digits)


def test_each_box_holds_a_pool_digit_with_the_annotated_label():
    pools = load_pools("test")
    lookup = {image.tobytes(): label for image, label in zip(pools.digits, pools.labels)}
    clean = generate(CanvasConfig(split="test", noise=0.0), 9, range(40))
    for image, digits, boxes in zip(clean.images[..., 0], clean.digits, clean.boxes):
        for digit, (x0, y0, x1, y1) in zip(digits[digits >= 0], boxes[digits >= 0]):
            patch = np.rint(image[y0:y1, x0:x1] * 255 / 0.8).astype(np.uint8)
            assert lookup[patch.tobytes()] == digit


def test_digit_ids_name_the_mnist_digit_in_each_box():
    from mnistsum.data import load_mnist

    (train_images, train_labels), _ = load_mnist()
    clean = generate(CanvasConfig(split="val", noise=0.0), 4, range(40))  # val ids index MNIST's training array
    real = clean.digits >= 0
    assert (clean.digit_ids[~real] == -1).all() and (clean.digit_ids[real] >= 50_000).all()
    assert (train_labels[clean.digit_ids[real]] == clean.digits[real]).all()
    for i, j in zip(*np.nonzero(real)):
        x0, y0, x1, y1 = clean.boxes[i, j]
        patch = np.rint(clean.images[i, y0:y1, x0:x1, 0] * 255 / 0.8).astype(np.uint8)
        assert (patch == train_images[clean.digit_ids[i, j]]).all()


# ----------------------------------------------------------------------------- muddled digits (notebook 10)

def _marked_pool(k: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Muddled stand-ins that say what they are: image i is filled with the value 100 + i."""
    images = np.zeros((k, PATCH, PATCH), np.uint8)
    images[:] = (100 + np.arange(k))[:, None, None]
    return images, np.arange(k) % 10


@pytest.fixture(scope="module")
def muddled_pools():
    return with_muddled(load_pools("test"), *_marked_pool())


def test_share_zero_is_the_plain_generator(batch, muddled_pools):
    same = generate(TEST, seed=7, indices=range(300), pools=muddled_pools)
    assert same.images.tobytes() == batch.images.tobytes() and not same.muddled.any() and not batch.muddled.any()


def test_muddling_changes_only_the_digits_and_keeps_their_source_labels(muddled_pools):
    clean = CanvasConfig(split="test", noise=0.0)
    base = generate(clean, 3, range(200))
    images, labels = _marked_pool()
    previous = np.zeros_like(base.muddled)
    for share in (0.3, 0.7, 1.0):
        out = generate(clean.replace(muddled_share=share), 3, range(200), muddled_pools)
        np.testing.assert_array_equal(out.boxes, base.boxes)
        np.testing.assert_array_equal(out.clutter_boxes, base.clutter_boxes)
        assert (out.muddled <= (out.digits >= 0)).all() and (previous <= out.muddled).all()  # nested shares
        previous = out.muddled
        outside = np.ones(out.images.shape[:3], bool)
        for i, j in zip(*np.nonzero(out.digits >= 0)):
            x0, y0, x1, y1 = out.boxes[i, j]
            outside[i, y0:y1, x0:x1] = False
            patch = np.rint(out.images[i, y0:y1, x0:x1, 0] * 255 / 0.8).astype(np.uint8)
            if out.muddled[i, j]:
                k = int(patch[0, 0]) - 100  # which muddled image was pasted
                assert (patch == images[k]).all() and out.digits[i, j] == labels[k] and out.digit_ids[i, j] == -1
            else:
                assert out.digit_ids[i, j] == base.digit_ids[i, j]
                assert out.digits[i, j] == base.digits[i, j] and patch.tobytes() == np.rint(
                    base.images[i, y0:y1, x0:x1, 0] * 255 / 0.8).astype(np.uint8).tobytes()
        np.testing.assert_array_equal(out.images[outside], base.images[outside])  # clutter and background
        assert out.sums.tolist() == np.where(out.digits >= 0, out.digits, 0).sum(1).tolist()
        share_seen = out.muddled.sum() / out.n_digits.sum()
        assert abs(share_seen - share) < 0.05, (share, share_seen)
    assert previous[base.digits >= 0].all()  # share 1: every digit


def test_muddling_needs_a_muddled_pool_and_a_valid_one():
    with pytest.raises(ValueError, match="muddled_share=0.5 needs pools with muddled digits"):
        generate(TEST.replace(muddled_share=0.5), 0, [0])
    pools = load_pools("test")
    with pytest.raises(ValueError, match="shape"):
        with_muddled(pools, np.zeros((3, 28, 27)), [1, 2, 3])
    with pytest.raises(ValueError, match="digits 0-9"):
        with_muddled(pools, np.zeros((2, 28, 28)), [1, 12])
    with pytest.raises(ValueError, match="floats in"):
        with_muddled(pools, np.full((2, 28, 28), 2.0), [1, 2])
    assert with_muddled(pools, np.ones((1, 28, 28)), [4]).muddled.max() == 255


def test_the_benchmark_canvases_never_change():
    """Every recorded score was measured on these bytes: a change to the generator that alters them
    (even by one rounding step) must be deliberate, and re-record the course's results."""
    from mnistsum.benchmark import BENCHMARK_CONFIG, BENCHMARK_SEED

    b = generate(BENCHMARK_CONFIG, BENCHMARK_SEED, range(64))
    digest = hashlib.sha256(b.images.tobytes() + b.digits.tobytes() + b.boxes.tobytes()).hexdigest()
    assert digest == "034a854ea4a646e203ceee0af007c8a4d2586f4705edad54093936a69e48f30c"
