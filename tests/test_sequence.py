"""Sequence read-out: strips, reading order, heads."""

import numpy as np
import pytest

from mnistsum.generator import CanvasConfig, generate
from mnistsum.sequence import (BLANK, MAX_DIGITS, N_CLASSES, any_order_loss, build_grid_reader,
                               build_scan_reader, build_sequence_model, closest_in_x, grid_inputs, make_strips,
                               most_likely_sums, read, read_through, reading_order_targets, sequence_accuracy,
                               sums_of)


def test_strips_hold_their_digits_in_order_then_blanks():
    rng = np.random.default_rng(0)
    digits = rng.integers(1, 256, (20, 28, 28)).astype(np.uint8)
    labels = np.arange(20) % 10
    strips, targets = make_strips(digits, labels, n=50, seed=3, min_len=0)
    assert strips.shape == (50, 28, 140, 1) and targets.shape == (50, MAX_DIGITS)
    for strip, target in zip(strips[..., 0], targets):
        n = (target != BLANK).sum()
        assert (target[:n] != BLANK).all() and (target[n:] == BLANK).all()
        for k in range(MAX_DIGITS):
            cell = strip[:, 28 * k: 28 * (k + 1)]
            if k >= n:
                assert (cell == 0).all()
            else:  # the patch is one of the pool's digits of that label
                match = [i for i in range(20) if np.array_equal(digits[i].astype(np.float32) / 255.0, cell)]
                assert match and labels[match[0]] == target[k]
    assert {(t != BLANK).sum() for t in targets} == set(range(MAX_DIGITS + 1))
    with pytest.raises(ValueError, match="min_len"):
        make_strips(digits, labels, 1, 0, min_len=3, max_len=2)


def test_reading_order_is_left_to_right():
    batch = generate(CanvasConfig(split="test", variable_digits=True), seed=2, indices=range(40))
    targets = reading_order_targets(batch)
    for i in range(len(batch)):
        placed = [(tuple(batch.boxes[i, k, :2]), batch.digits[i, k]) for k in range(5) if batch.digits[i, k] >= 0]
        expected = [d for _, d in sorted(placed, key=lambda p: p[0])]
        assert targets[i].tolist() == expected + [BLANK] * (MAX_DIGITS - len(expected))
    np.testing.assert_array_equal(sums_of(targets), batch.sums)


def test_heads_and_scores():
    model = build_sequence_model((28, 140, 1))
    assert [layer.name for layer in model.layers if layer.name.startswith("head")] == [f"head{k}" for k in range(1, 6)]
    out = model.predict(np.zeros((2, 28, 140, 1), np.float32), verbose=0)
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)
    scores = sequence_accuracy(np.array([[1, 2, 10, 10, 10], [3, 3, 3, 10, 10]]),
                               np.array([[1, 2, 10, 10, 10], [3, 4, 3, 10, 10]]))
    assert scores == {"per_head": [1.0, 0.5, 1.0, 1.0, 1.0], "sequence": 0.5, "any_order": 0.5}
    swapped = sequence_accuracy(np.array([[1, 2, 10, 10, 10], [3, 4, 10, 10, 10]]),
                                np.array([[10, 2, 1, 10, 10], [3, 3, 10, 10, 10]]))
    assert swapped == {"per_head": [0.5, 0.5, 0.5, 1.0, 1.0], "sequence": 0.0, "any_order": 0.5}


def _brute_force_any_order(targets, probabilities):
    import itertools

    losses = []
    for t, p in zip(targets, probabilities):
        losses.append(min(-np.mean(np.log(np.clip(p[np.arange(MAX_DIGITS), list(order)], 1e-7, 1)))
                          for order in itertools.permutations(t)))
    return np.array(losses)


def test_any_order_loss_is_the_best_matching_of_heads_to_targets():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(N_CLASSES), size=(6, MAX_DIGITS)).astype(np.float32)
    t = rng.integers(0, N_CLASSES, (6, MAX_DIGITS))
    loss = np.asarray(any_order_loss(t, p))
    np.testing.assert_allclose(loss, _brute_force_any_order(t, p), rtol=1e-5)
    # the order of the targets does not matter
    np.testing.assert_allclose(np.asarray(any_order_loss(t[:, ::-1], p)), loss, rtol=1e-5)
    ordered = -np.log(p[np.arange(6)[:, None], np.arange(MAX_DIGITS), t]).mean(axis=1)
    assert (loss <= ordered + 1e-6).all() and (loss < ordered - 1e-3).any()  # never worse than reading order


def test_grid_reader_trains_in_either_order():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 26, 26, 10)).astype(np.float32)
    y = rng.integers(0, N_CLASSES, (8, MAX_DIGITS))
    for any_order in (False, True):
        model = build_grid_reader(any_order=any_order)
        assert model.output.shape == (None, MAX_DIGITS, N_CLASSES)
        history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
        assert np.isfinite(history.history["loss"]).all()
    p = model.predict(x, verbose=0)  # the last, trained in any order, is scored by its own loss
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=8, verbose=0),
                               _brute_force_any_order(y, p).mean(), rtol=1e-4)


def test_grid_inputs_are_the_grid_on_the_same_canvases_with_their_targets():
    import keras

    from mnistsum.generator import iter_batches

    inputs = keras.Input((None, None, 1))
    pooled = keras.layers.AveragePooling2D(4)(inputs)
    grid = keras.Model(inputs, keras.layers.Conv2D(10, 1, activation="softmax")(pooled))
    config = CanvasConfig(split="val")
    logs, targets, sums = grid_inputs(grid, config, seed=4, n=12, batch_size=5)
    batch = next(iter_batches(config, 4, 12, 12))
    assert logs.shape == (12, 32, 32, 10) and logs.dtype == np.float32
    np.testing.assert_allclose(logs, np.log(grid.predict(batch.images, verbose=0) + 1e-4), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(targets, reading_order_targets(batch))
    np.testing.assert_array_equal(sums, batch.sums)
    probabilities, same_targets, _ = grid_inputs(grid, config, seed=4, n=12, batch_size=5, log=False)
    np.testing.assert_allclose(probabilities, grid.predict(batch.images, verbose=0), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(same_targets, targets)
    with pytest.raises(ValueError, match="at least one canvas"):
        grid_inputs(grid, config, seed=4, n=0)


def _toy_grids(n: int, seed: int, rows: int = 4, columns: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Grids of one-hot cells, background (class 10) but for 1-5 digits in distinct columns at random rows,
    and their digits left to right, blank padded: what a perfect detector would show the scan reader."""
    rng = np.random.default_rng(seed)
    grids = np.zeros((n, rows, columns, N_CLASSES), np.float32)
    grids[..., BLANK] = 1.0
    targets = np.full((n, MAX_DIGITS), BLANK)
    for i in range(n):
        count = rng.integers(1, MAX_DIGITS + 1)
        cols = np.sort(rng.choice(columns, count, replace=False))
        digits = rng.integers(0, 10, count)
        grids[i, rng.integers(0, rows, count), cols] = np.eye(N_CLASSES)[digits]
        targets[i, :count] = digits
    return grids, targets


def test_the_scan_reader_learns_to_read_digits_left_to_right():
    import keras

    keras.utils.set_random_seed(0)
    x, y = _toy_grids(6000, seed=0)
    test_x, test_y = _toy_grids(500, seed=1)
    model = build_scan_reader(x.shape[1:], units=64, learning_rate=3e-3)
    assert model.output.shape == (None, MAX_DIGITS, N_CLASSES)
    before = sequence_accuracy(test_y, read(model.predict(test_x, verbose=0)))["sequence"]
    model.fit(x, y, batch_size=64, epochs=8, verbose=0)
    after = sequence_accuracy(test_y, read(model.predict(test_x, verbose=0)))
    assert before < 0.05 and after["sequence"] > 0.9, (before, after)


def test_read_through_joins_frozen_eyes_to_the_reader():
    import keras

    inputs = keras.Input((None, None, 1))
    pooled = keras.layers.AveragePooling2D(8)(inputs)
    eyes = keras.Model(inputs, keras.layers.Conv2D(N_CLASSES, 1, activation="softmax")(pooled))
    reader = build_scan_reader((16, 16, N_CLASSES), units=8)
    model = read_through(eyes, reader)
    assert model.output.shape == (None, MAX_DIGITS, N_CLASSES)  # one output, as the reader has
    canvases = np.random.default_rng(2).random((3, 128, 128, 1), np.float32)
    np.testing.assert_allclose(model.predict(canvases, verbose=0),
                               reader.predict(eyes.predict(canvases, verbose=0), verbose=0), rtol=1e-5, atol=1e-6)
    assert len(model.trainable_weights) == len(reader.trainable_weights)  # the eyes stay as they are


def _most_likely_sums_by_listing(p: np.ndarray) -> np.ndarray:
    """The mode of the heads' sum by listing all 11^5 read-outs and their probabilities (slow, obviously right)."""
    read_outs = np.stack(np.meshgrid(*[np.arange(N_CLASSES)] * MAX_DIGITS, indexing="ij"), -1).reshape(-1, MAX_DIGITS)
    totals = sums_of(read_outs)
    modes = []
    for heads in p:
        probability = np.prod(heads[np.arange(MAX_DIGITS), read_outs], axis=1, dtype=np.float64)
        modes.append(np.bincount(totals, weights=probability).argmax())
    return np.array(modes)


def test_the_most_likely_sum_of_the_heads_is_the_mode_of_every_read_out():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(N_CLASSES, 0.3), (12, MAX_DIGITS)).astype(np.float32)
    assert most_likely_sums(p).tolist() == _most_likely_sums_by_listing(p).tolist()
    sure = np.eye(N_CLASSES, dtype=np.float32)[rng.integers(0, N_CLASSES, (12, MAX_DIGITS))]
    assert most_likely_sums(sure).tolist() == sums_of(read(sure)).tolist(), "sure heads: the sum of their answers"
    with pytest.raises(ValueError, match=r"shape \(N, heads, 11\)"):
        most_likely_sums(p[..., :10])


def test_closest_in_x_is_the_smallest_gap_between_two_left_edges():
    batch = generate(CanvasConfig(split="test", variable_digits=True), seed=2, indices=range(40))
    expected = []
    for digits, boxes in zip(batch.digits, batch.boxes):
        x0 = boxes[digits >= 0, 0].astype(int)
        gaps = [abs(a - b) for i, a in enumerate(x0) for b in x0[i + 1:]]
        expected.append(min(gaps) if gaps else None)
    found = closest_in_x(batch)
    few = np.array([e is None for e in expected])
    assert few.any() and (~few).any(), "the canvases must include some with fewer than two digits"
    assert found[~few].tolist() == [e for e in expected if e is not None]
    assert (found[few] > 128).all(), "fewer than two digits: no gap, a number larger than any canvas"
