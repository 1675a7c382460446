"""Reading each found digit where its ink is: the windows the ink's centre of mass finds, and best's vote."""

import keras
import numpy as np
import pytest

from mnistsum import zoo
from mnistsum.aligned import AlignedVote, aligned_opinion, ink_corners, scaled_windows
from mnistsum.detector import decode
from mnistsum.generator import CanvasConfig, generate
from mnistsum.grid import STRIDE
from mnistsum.reader import build_reader
from mnistsum.second_opinion import parts


@pytest.fixture(scope="module")
def canvases():
    return generate(CanvasConfig(split="val"), 7, range(200))


def test_the_ink_finds_the_patch_of_nearly_every_digit_that_the_grid_misses(canvases):
    n, slot = np.nonzero(canvases.digits >= 0)
    true = canvases.boxes[n, slot][:, 1::-1].astype(np.int64)  # (y0, x0) of each digit's patch
    grid = np.rint(true / STRIDE).astype(np.int64) * STRIDE  # the window of the grid cell nearest it
    found = ink_corners(canvases.images, n, grid)
    assert np.mean((grid == true).all(1)) < 0.15, "the grid's own windows are rarely the digit's patch"
    assert np.mean((found == true).all(1)) > 0.8
    assert np.mean((abs(found - true) <= 1).all(1)) > 0.99


def test_ink_corners_stay_inside_the_image_and_leave_an_inkless_window_alone():
    canvas = np.full((1, 40, 40, 1), 0.1, np.float32)  # noise only
    np.testing.assert_array_equal(ink_corners(canvas, np.array([0, 0]), np.array([[5, 7], [-3, 30]])),
                                  [[5, 7], [0, 12]])
    canvas = np.full((1, 32, 32, 1), 0.1, np.float32)
    canvas[0, 20:26, 20:26] = 1.0  # ink near the corner pulls the window towards it, but no further than the edge
    np.testing.assert_array_equal(ink_corners(canvas, np.array([0]), np.array([[0, 0]])), [[4, 4]])


@pytest.mark.parametrize("images, index, corners, message", [
    (np.zeros((1, 40, 40)), [0], [[0, 0]], r"shape \(N, H, W, 1\)"),
    (np.zeros((1, 40, 40, 1)), [0], [0, 0], r"corners \(M, 2\)"),
    (np.zeros((1, 20, 40, 1)), [0], [[0, 0]], "smaller than a 28x28 window"),
])
def test_ink_corners_refuses_what_it_cannot_read(images, index, corners, message):
    with pytest.raises(ValueError, match=message):
        ink_corners(np.asarray(images), np.asarray(index), np.asarray(corners))


def test_scaled_windows_magnify_about_the_window_centre():
    canvas = np.zeros((1, 60, 60, 1), np.float32)
    canvas[0, 20:30, 20:30] = 1.0  # a 10-pixel square centred in the window at (11, 11)
    wide = (scaled_windows(canvas, np.array([0]), np.array([[11, 11]]), (1.0, 2.0))[0, ..., 0] > 0.5).sum((1, 2))
    assert wide.tolist() == [100, 400]
    with pytest.raises(ValueError, match="each must be > 0"):
        scaled_windows(canvas, np.array([0]), np.array([[11, 11]]), (1.0, 0.0))


def test_the_aligned_opinion_speaks_only_where_a_digit_was_found(canvases):
    detector = zoo.load_shipped_detector()
    images = canvases.images[:8]
    grids = detector.predict(images, verbose=0)
    keras.utils.set_random_seed(0)
    opinion = aligned_opinion(grids, images, build_reader(width=4))
    found = decode(grids)
    n, slot = np.nonzero(found.digits >= 0)
    at = (n, found.boxes[n, slot, 1] // STRIDE, found.boxes[n, slot, 0] // STRIDE)
    assert opinion.shape == grids.shape[:-1] + (10,)
    np.testing.assert_allclose(opinion[at].sum(-1), 1.0, rtol=1e-5)
    elsewhere = np.ones(opinion.shape[:-1], bool)
    elsewhere[at] = False
    np.testing.assert_allclose(opinion[elsewhere], 0.1)


def test_the_aligned_vote_finds_the_detectors_digits_and_gives_back_its_parts(canvases, tmp_path):
    detector, reader = zoo.load_shipped_detector(), zoo.load_shipped("reader")
    best = AlignedVote(detector, reader, weight=3.0)
    alone, voted = decode(detector.predict(canvases.images, verbose=0)), decode(best.predict(canvases.images))
    np.testing.assert_array_equal(voted.boxes, alone.boxes)  # whether a digit is there stays the detector's call
    assert parts(best) == (detector, reader, 3.0)
    assert best.count_params() == detector.count_params() + reader.count_params()
    assert np.mean(voted.sums == canvases.sums) >= np.mean(alone.sums == canvases.sums)
    best.save(tmp_path / "best.keras")  # the detector alone, as zoo.ship saves it
    again = keras.models.load_model(tmp_path / "best.keras")
    np.testing.assert_array_equal(again.predict(canvases.images[:2], verbose=0),
                                  detector.predict(canvases.images[:2], verbose=0))
