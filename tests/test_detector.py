"""The detector: its training windows, its sliding-window equivalence, its decoding."""

import numpy as np
import pytest

from mnistsum.detector import (BACKGROUND, NEGATIVE_SHIFT, POSITIVE_SHIFT, STRIDE, WindowDataset, build_detector,
                               decode, detect, every_two_pixels_across, windows_from)
from mnistsum.generator import PATCH, CanvasConfig, generate, load_pools


@pytest.fixture(scope="module")
def batch():
    return generate(CanvasConfig(split="train"), seed=3, indices=range(24))


def _nearest_shift(batch, canvas, y, x):
    present = batch.digits[canvas] >= 0
    shift = np.maximum(abs(batch.boxes[canvas, :, 1] - y), abs(batch.boxes[canvas, :, 0] - x))
    shift = np.where(present, shift, 10**6)
    return shift.min(), batch.digits[canvas, shift.argmin()]


def test_every_window_is_labelled_by_the_digit_it_shows(batch):
    windows, labels = windows_from(batch, np.random.default_rng(0))
    assert windows.shape[1:] == (PATCH, PATCH, 1) and labels.shape == (len(windows), 1, 1)
    labels = labels.ravel()
    assert (labels != BACKGROUND).sum() >= batch.n_digits.sum()  # a window per digit (random ones may add more)
    assert (labels == BACKGROUND).sum() > 0
    # find each window on its canvas by brute force, then check its label against the boxes
    views = np.lib.stride_tricks.sliding_window_view(batch.images[..., 0], (PATCH, PATCH), axis=(1, 2))
    for window, label in zip(windows[:60, ..., 0], labels[:60]):
        canvas, y, x = np.argwhere((views == window).all(axis=(-1, -2)))[0]
        distance, digit = _nearest_shift(batch, canvas, y, x)
        if label == BACKGROUND:
            assert distance >= NEGATIVE_SHIFT
        else:
            assert distance <= POSITIVE_SHIFT and digit == label


def test_window_batches_repeat_exactly():
    ds = WindowDataset(CanvasConfig(split="val"), seed=5, batches=3, canvases_per_batch=4, fresh_each_epoch=False)
    a, b = ds[1], ds[1]
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="batches"):
        WindowDataset(CanvasConfig(split="val"), seed=5, batches=0)


def test_the_canvas_grid_is_the_window_classifier_slid_by_the_stride():
    model = build_detector()
    canvas = generate(CanvasConfig(split="test"), seed=0, indices=[0]).images
    grid = model.predict(canvas, verbose=0)[0]
    assert grid.shape == (26, 26, 11)
    for cy, cx in [(0, 0), (7, 19), (25, 25)]:
        y, x = cy * STRIDE, cx * STRIDE
        window = canvas[:, y: y + PATCH, x: x + PATCH]
        np.testing.assert_allclose(model.predict(window, verbose=0)[0, 0, 0], grid[cy, cx], atol=1e-5)


def test_read_every_two_pixels_across_the_detector_answers_for_every_window_two_pixels_apart():
    model = build_detector()
    canvases = generate(CanvasConfig(split="test"), seed=0, indices=[0, 1]).images
    fine = every_two_pixels_across(model).predict(canvases, verbose=0)
    assert fine.shape == (2, 26, 51, 11)
    np.testing.assert_allclose(fine[:, :, 0::2], model.predict(canvases, verbose=0), atol=1e-6)
    moved = model.predict(canvases[:, :, 2:], verbose=0)  # every window 2 pixels further right
    np.testing.assert_allclose(fine[:, :, 1::2], moved, atol=1e-6)
    for cy, cx in [(0, 1), (9, 24), (25, 49)]:  # and each cell is the window with left edge 2·cx
        window = canvases[:1, cy * STRIDE: cy * STRIDE + PATCH, 2 * cx: 2 * cx + PATCH]
        np.testing.assert_allclose(model.predict(window, verbose=0)[0, 0, 0], fine[0, cy, cx], atol=1e-5)


def _grid(cells, shape=(1, 10, 10)):
    grid = np.zeros((*shape, 11), np.float32)
    grid[..., BACKGROUND] = 1.0
    for (n, y, x), (digit, p) in cells.items():
        grid[n, y, x] = 0.0
        grid[n, y, x, digit], grid[n, y, x, BACKGROUND] = p, 1 - p
    return grid


def test_decode_keeps_one_peak_per_neighbourhood():
    grid = _grid({(0, 2, 2): (3, 0.9), (0, 2, 3): (8, 0.8),  # neighbours: the weaker is suppressed
                  (0, 2, 9): (5, 0.7),                        # far enough to stand
                  (0, 8, 8): (1, 0.4)})                       # below the threshold
    found = decode(grid)
    assert sorted(found.digits[0][found.digits[0] >= 0].tolist()) == [3, 5]
    assert found.sums.tolist() == [8] and found.counts.tolist() == [2]
    assert found.boxes[0, 0].tolist() == [8, 8, 8 + PATCH, 8 + PATCH]
    assert decode(grid, threshold=0.3).sums.tolist() == [9]



def test_decode_counts_a_sure_digit_once_when_neighbouring_cells_tie():
    # A well-trained detector gives p(background) = 0 in float32 on two neighbouring cells:
    # both were "the largest" before ties were broken, and the digit counted twice.
    grid = _grid({(0, 4, 4): (7, 1.0), (0, 4, 5): (7, 1.0), (0, 5, 4): (7, 1.0)})
    found = decode(grid)
    assert found.digits[0].tolist()[:2] == [7, -1] and found.sums.tolist() == [7]
    assert found.boxes[0, 0, :2].tolist() == [4 * STRIDE, 4 * STRIDE], "the tie goes to the first in reading order"
    # p(background) still ranks cells where 1 - p(background) rounds to 1.0
    grid[0, 4, 5, BACKGROUND], grid[0, 4, 4, BACKGROUND], grid[0, 5, 4, BACKGROUND] = 1e-30, 1e-9, 1e-20
    assert found.sums.tolist() == decode(grid).sums.tolist()
    assert decode(grid).boxes[0, 0, :2].tolist() == [5 * STRIDE, 4 * STRIDE]  # (x0, y0) of cell (4, 5)

def test_decode_reports_how_sure_it_is_of_each_digit_read():
    grid = _grid({(0, 2, 2): (3, 0.8), (0, 2, 9): (5, 0.9)})
    grid[0, 2, 2, 3], grid[0, 2, 2, 8] = 0.6, 0.2  # a digit is there (0.8); 3 or 8?
    found = decode(grid)
    confidence = dict(zip(found.digits[0].tolist(), found.confidence[0].tolist()))
    assert confidence[3] == pytest.approx(0.75) and confidence[5] == pytest.approx(1.0)
    assert (found.confidence[0][found.digits[0] < 0] == 0).all()


def test_decode_finds_nothing_on_an_empty_grid_and_rejects_bad_shapes():
    found = decode(_grid({}, (2, 6, 6)))
    assert found.sums.tolist() == [0, 0] and (found.digits == -1).all()
    with pytest.raises(ValueError, match="shape"):
        decode(np.zeros((1, 6, 6, 10)))


def test_match_and_report_count_each_kind_of_error():
    from mnistsum.detector import DetectionReport, Detections, match

    digits = np.array([[3, 7, -1]])
    boxes = np.array([[[10, 10, 38, 38], [60, 60, 88, 88], [-1] * 4]])
    found = Detections(np.array([[3, 1, 4, -1]]),  # 3 right (2 px off), 7 read as 1, an extra 4
                       np.array([[[12, 8, 40, 36], [60, 60, 88, 88], [0, 90, 28, 118], [-1] * 4]]),
                       np.array([[0.9, 0.8, 0.7, 0.0]], np.float32))
    matched = match(found, digits, boxes)
    assert matched.tolist() == [[3, 1, -2]]
    rep = DetectionReport(np.array([10]), found.sums, digits, matched, found.counts)
    assert rep.errors() == {"wrong label": 1, "missed": 0, "extra": 1}
    assert rep.per_digit_accuracy() == 0.5 and rep.count_accuracy() == 0.0 and rep.sum_accuracy() == 0.0
    with pytest.raises(ValueError, match="digit_ids"):
        rep.misread()
    traced = DetectionReport(np.array([10]), found.sums, digits, matched, found.counts, np.array([[41, 9, -1]]))
    misread = traced.misread()  # the 7 (MNIST digit 9) read as 1
    assert misread.ids.tolist() == [9] and misread.read.tolist() == [1] and misread.seen.tolist() == [1]


def test_report_traces_every_digit_to_its_mnist_digit():
    from mnistsum.detector import report

    config = CanvasConfig(split="test", canvas_size=64, max_digits=2, max_clutter=1)
    rep = report(build_detector(width=2), config, seed=5, n=12, batch_size=5)
    canvases = generate(config, 5, range(12))
    np.testing.assert_array_equal(rep.digit_ids, canvases.digit_ids)
    np.testing.assert_array_equal(rep.digits, canvases.digits)
    assert len(rep.misread()) <= (rep.digit_ids >= 0).sum()


def test_report_reads_canvases_drawn_from_the_pools_it_is_given():
    from mnistsum.augment import turned_pools
    from mnistsum.detector import report

    config = CanvasConfig(split="val", canvas_size=64, max_digits=2, max_clutter=3)
    model = build_detector(width=2)
    turned = turned_pools(load_pools("val"), "transposed")
    rep = report(model, config, seed=5, n=6, pools=turned)
    canvases = generate(config, 5, range(6), turned)
    np.testing.assert_array_equal(rep.predicted, detect(model, canvases.images).sums)
    np.testing.assert_array_equal(rep.digits, canvases.digits)


def test_grid_labels_label_every_cell_like_a_window(batch):
    from mnistsum.grid import grid_labels

    grid = grid_labels(batch)
    assert grid.shape == (len(batch), 26, 26)
    for canvas, cy, cx in [(0, 0, 0), (3, 10, 4), (7, 25, 25)] + [tuple(i) for i in np.argwhere(grid < BACKGROUND)[:20]]:
        distance, digit = _nearest_shift(batch, canvas, cy * STRIDE, cx * STRIDE)
        expected = digit if distance <= POSITIVE_SHIFT else BACKGROUND if distance >= NEGATIVE_SHIFT else -1
        assert grid[canvas, cy, cx] == expected
    # every digit has at least one cell labelled with it
    for canvas in range(len(batch)):
        for digit in batch.digits[canvas][batch.digits[canvas] >= 0]:
            assert (grid[canvas] == digit).any()


def test_train_detector_for_stops_on_time_and_logs_every_epoch():
    from mnistsum.detector import train_detector_for

    model = build_detector(width=4)
    lines = []
    history = train_detector_for(model, seconds=8, learning_rate=1e-3, batch_size=4, images_per_epoch=8,
                                 seed=3, val_images=4, log=lines.append)
    epochs = len(history["loss"])
    assert epochs >= 2 and len(lines) == epochs
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "images", "epoch_seconds",
                            "phase"} and set(history["phase"]) == {2}
    assert all(n == 8 for n in history["images"][:-1]) and 0 < history["images"][-1] <= 8
    assert history["learning_rate"][-1] < history["learning_rate"][0], "the cosine follows the clock down"
    assert sum(history["epoch_seconds"]) < 8 + 30  # stopped on time (slack for the last validation)
    assert float(model.optimizer.learning_rate) == pytest.approx(history["learning_rate"][-1])
    with pytest.raises(ValueError, match="seconds > 0"):
        train_detector_for(model, seconds=0)
