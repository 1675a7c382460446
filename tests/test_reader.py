"""The reader: best's second opinion on which digit sits in a window, trained on digit cells alone."""

import json

import keras
import numpy as np
import pytest

from mnistsum import zoo
from mnistsum.aligned import AlignedVote
from mnistsum.cli import main
from mnistsum.generator import CanvasConfig, generate
from mnistsum.grid import BACKGROUND, grid_labels, reader_targets
from mnistsum.reader import build_reader, read_at_digits
from mnistsum.second_opinion import parts


def test_reader_targets_are_the_digit_cells_alone():
    batch = generate(CanvasConfig(split="val"), 3, range(4))
    labels, weights = reader_targets(batch)
    cells = grid_labels(batch)
    digit = (cells >= 0) & (cells < BACKGROUND)
    np.testing.assert_array_equal(weights, digit.astype(np.float32))
    np.testing.assert_array_equal(labels[digit], cells[digit])
    assert (labels[~digit] == 0).all() and weights.sum() >= batch.n_digits.sum(), "every digit has a cell"


def test_read_at_digits_reads_the_cell_nearest_each_digit():
    batch = generate(CanvasConfig(split="test"), 0, range(2))

    class Oracle:  # a grid that says, at every cell, the digit whose box is nearest
        def predict(self, images, **kwargs):
            grid = np.zeros((len(images), 26, 26, 10), np.float32)
            for n in range(len(images)):
                for digit, (x, y, *_) in zip(batch.digits[n], batch.boxes[n]):
                    if digit >= 0:
                        grid[n, round(y / 4), round(x / 4), digit] = 1
            return grid

    np.testing.assert_array_equal(read_at_digits(Oracle(), batch), batch.digits)
    assert (read_at_digits(build_reader(width=4), batch)[batch.digits < 0] == -1).all()


@pytest.mark.parametrize("body", ["detector", "strided"])
def test_a_reader_slid_over_a_canvas_reads_each_window_every_4_pixels(body):
    reader = build_reader(width=4, body=body)
    canvas = generate(CanvasConfig(split="val"), 5, range(1)).images
    grid = reader.predict(canvas, verbose=0)
    assert grid.shape == (1, 26, 26, 10)
    for y, x in ((0, 0), (7, 19), (25, 25)):
        window = canvas[:, 4 * y:4 * y + 28, 4 * x:4 * x + 28]
        np.testing.assert_allclose(reader.predict(window, verbose=0)[0, 0, 0], grid[0, y, x], atol=1e-5)
    with pytest.raises(ValueError, match="choose one of detector, strided"):
        build_reader(body="wide")


def test_train_reader_trains_and_reports_its_reading(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNISTSUM_QUICK", "1")
    main(["train-reader", "--seconds", "3", "--workers", "2", "--seed", "4", "--eval-images", "8"])
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    budget = record["budget"]
    assert record["model"] == "reader" and record["digits"] == 8 * 5 and 0 <= record["digit_accuracy"] <= 1
    assert budget["augment"]["copies"] == 1 and budget["seed"] == 4 and budget["images_seen"] > 0
    main(["train-reader", "--seconds", "2", "--plain-digits", "--eval-images", "8"])
    assert "augment" not in json.loads(capsys.readouterr().out.strip().splitlines()[-1])["budget"]
    main(["train-reader", "--seconds", "2", "--windows", "--elastic", "34", "--eval-images", "8"])
    augment = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["budget"]["augment"]
    assert augment["elastic"] == 34.0 and augment["elastic_sigma"] == 4.0
    main(["train-reader", "--seconds", "2", "--windows", "--body", "strided", "--eval-images", "8"])
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["budget"]["body"] == "strided" and 0 <= record["digit_accuracy"] <= 1


@pytest.mark.parametrize("argv, message", [
    (["--seconds", "0"], "--seconds 0.0"),
    (["--seconds", "5", "--workers", "0"], "--workers 0"),
    (["--seconds", "5", "--ship"], "never shipped"),
    (["--seconds", "5", "--copies", "0"], "--copies 0"),
    (["--seconds", "5", "--plain-digits", "--elastic", "34"], "--plain-digits has none"),
    (["--seconds", "5", "--body", "strided"], "trains on digit windows"),
    (["--seconds", "5", "--windows", "--body", "wide"], "unknown reader body 'wide'"),
])
def test_train_reader_refuses_what_it_cannot_do(argv, message, monkeypatch):
    monkeypatch.setenv("MNISTSUM_QUICK", "1")
    with pytest.raises(SystemExit, match=message):
        main(["train-reader", *argv])


def _shipped_copy(tmp_path, monkeypatch, names=("digit-classifier", "best")):
    """A weights folder with copies of some shipped models, in place of the real one."""
    for name in names:
        for suffix in (".keras", ".json"):
            (tmp_path / f"{name}{suffix}").write_bytes((zoo.WEIGHTS_DIR / f"{name}{suffix}").read_bytes())
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", tmp_path)


def test_best_takes_the_second_opinion_that_reads_validation_canvases_best(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTSUM_QUICK", "1")
    _shipped_copy(tmp_path, monkeypatch)
    detector = zoo.load_shipped_detector()
    trained = zoo.Trained(detector, {}, {}, 0.0)
    alone = zoo._with_second_opinion(trained).budget["second_opinion"]
    assert alone["classifier"] == "digit-classifier" and list(alone["val_sum_accuracy_by_opinion"]) == [
        "digit-classifier"]

    keras.utils.set_random_seed(0)
    zoo.ship("reader", build_reader(width=4), {"model": "reader"})  # untrained: it reads no better than chance
    chosen = zoo._with_second_opinion(trained)
    opinion = chosen.budget["second_opinion"]
    scores = opinion["val_sum_accuracy_by_opinion"]
    assert list(scores) == ["digit-classifier", "reader", "reader-aligned"]
    assert opinion["classifier"] == max(scores, key=lambda k: (scores[k], -zoo.SECOND_OPINIONS.index(k)))
    assert max(opinion["val_sum_accuracy_by_weight"].values()) == scores[opinion["classifier"]]

    record = zoo.shipped_record("best")
    record["second_opinion"] = {**opinion, "classifier": "reader", "weight": 0.5}  # as `vote` writes it
    (tmp_path / "best.json").write_text(json.dumps(record))
    best = zoo.load_shipped("best")
    detector_again, grid, weight = parts(best)
    assert weight == 0.5 and grid.name == "reader" and detector_again.name == "detector"
    record["second_opinion"]["classifier"] = "reader-aligned"
    (tmp_path / "best.json").write_text(json.dumps(record))
    best = zoo.load_shipped("best")
    assert isinstance(best, AlignedVote) and parts(best)[1:] == (best.reader, 0.5)


def test_join_averages_the_new_reader_with_the_shipped_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNISTSUM_QUICK", "1")
    _shipped_copy(tmp_path, monkeypatch, names=())
    with pytest.raises(SystemExit, match="no shipped reader to join"):
        main(["train-reader", "--seconds", "2", "--join"])
    keras.utils.set_random_seed(1)
    first = build_reader(width=4)
    zoo.ship("reader", first, {"model": "reader", "digit_accuracy": 0.5, "wall_time_s": 3.0, "hardware": "A",
                               "command": "c1", "budget": {"epochs": 2, "images_seen": 20}})
    main(["train-reader", "--seconds", "2", "--join", "--eval-images", "8"])
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    members = record["budget"]["members"]
    assert [m["command"] for m in members][0] == "c1" and "--join" in members[1]["command"]
    assert members[0]["digit_accuracy"] == 0.5 and 0 <= members[1]["digit_accuracy"] <= 1
    assert record["budget"]["images_seen"] == 20 + members[1]["budget"]["images_seen"]
    assert record["params"] == first.count_params() + build_reader(width=8).count_params()
    assert zoo.shipped_record("reader")["digit_accuracy"] == 0.5, "a quick run never ships"


def test_digit_windows_cut_one_window_per_digit_near_its_box():
    from mnistsum.reader import digit_windows

    windows, digits = next(digit_windows(seed=5, canvases=3))
    batch = generate(CanvasConfig(split="train"), 5, range(3))
    np.testing.assert_array_equal(digits[:, 0, 0], batch.digits[batch.digits >= 0])  # canvas by canvas, slot order
    views = np.lib.stride_tricks.sliding_window_view(batch.images[..., 0], (28, 28), axis=(1, 2))
    for window, (n, slot) in zip(windows[..., 0], zip(*np.nonzero(batch.digits >= 0))):
        x, y = batch.boxes[n, slot, :2]
        shifts = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                  if 0 <= y + dy <= 100 and 0 <= x + dx <= 100 and np.array_equal(views[n, y + dy, x + dx], window)]
        assert shifts, "each window is its digit's box, shifted by at most 2 px"
    again, _ = next(digit_windows(seed=5, canvases=3))
    np.testing.assert_array_equal(again, windows)


def test_a_reader_trained_on_digit_windows_counts_windows_apart_from_canvases(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNISTSUM_QUICK", "1")
    _shipped_copy(tmp_path, monkeypatch, names=())
    keras.utils.set_random_seed(1)
    zoo.ship("reader", build_reader(width=4), {"model": "reader", "digit_accuracy": 0.5, "wall_time_s": 3.0,
                                               "hardware": "A", "command": "c1",
                                               "budget": {"unit": "canvases", "epochs": 2, "images_seen": 20}})
    main(["train-reader", "--seconds", "2", "--windows", "--join", "--eval-images", "8"])
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    newest = record["budget"]["members"][-1]["budget"]
    assert newest["unit"] == "digit windows" and newest["images_seen"] > 0
    assert record["budget"]["images_seen"] == 20, "canvases count canvases"
    assert record["budget"]["digit_windows_seen"] == newest["images_seen"]
    with pytest.raises(ValueError, match="workers=2"):
        zoo.train_reader(2, workers=2, windows=True)


def test_an_ensemble_averages_its_members_and_saves_as_one_model(tmp_path):
    from mnistsum.reader import ensemble, ensemble_members

    keras.utils.set_random_seed(2)
    a, b, c = (build_reader(width=4) for _ in range(3))
    both = ensemble([ensemble([a, b]), c])
    x = generate(CanvasConfig(split="val"), 1, range(2)).images
    mean = sum(m.predict(x, verbose=0) for m in (a, b, c)) / 3
    np.testing.assert_allclose(both.predict(x, verbose=0), mean, atol=1e-6)
    both.save(tmp_path / "reader.keras")
    again = keras.models.load_model(tmp_path / "reader.keras")
    assert [m.name for m in ensemble_members(again)] == ["member1", "member2", "member3"]
    np.testing.assert_allclose(again.predict(x, verbose=0), mean, atol=1e-6)
    with pytest.raises(ValueError, match="at least two"):
        ensemble([a])


def test_vote_chooses_again_and_keeps_the_training_record(tmp_path, monkeypatch, capsys):
    from mnistsum import paths

    monkeypatch.setenv("MNISTSUM_QUICK", "1")
    monkeypatch.setenv(paths.MODELS_ENV, str(tmp_path / "models"))
    _shipped_copy(tmp_path, monkeypatch)
    previous = zoo.shipped_record("best")
    main(["vote", "--eval-images", "8"])
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["budget"] == previous["budget"] and record["history"] == previous["history"]
    assert record["benchmark"]["n"] == 8
    assert record["second_opinion"]["command"] == "python -m mnistsum vote --eval-images 8"
    assert zoo.second_opinion(record) == record["second_opinion"]
    assert "second_opinion" not in previous, "the shipped record's choice is its newest stage's"
    replaced = zoo.second_opinion(previous)
    earlier = record["second_opinion"]["earlier"]
    assert earlier[0] == {**{k: v for k, v in replaced.items() if k != "earlier"},
                          "sum_accuracy": previous["sum_accuracy"], "mae": previous["mae"]}
    assert earlier[1:] == replaced.get("earlier", []), "older choices are kept too"
    assert zoo.shipped_record("best") == previous, "a quick vote never ships"
    with pytest.raises(SystemExit, match="never shipped"):
        main(["vote", "--ship"])
