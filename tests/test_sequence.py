"""Sequence read-out: strips, reading order, heads."""

import numpy as np
import pytest

from mnistsum.generator import CanvasConfig, generate
from mnistsum.sequence import (BLANK, MAX_DIGITS, build_sequence_model, make_strips, reading_order_targets,
                               sequence_accuracy, sums_of)


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
    assert scores == {"per_head": [1.0, 0.5, 1.0, 1.0, 1.0], "sequence": 0.5}
