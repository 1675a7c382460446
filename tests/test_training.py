"""Training recipes, checkpoints, the time budget and load-or-train."""

import keras
import numpy as np
import pytest

from mnistsum import paths
from mnistsum.training import QUICK_RECIPE, REFERENCE_RECIPE, Recipe, TimeBudget, load_or_train, train


def tiny_model() -> keras.Model:
    model = keras.Sequential([keras.Input((128, 128, 1)), keras.layers.AveragePooling2D(32),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    return model


TINY = Recipe(epochs=2, images_per_epoch=8, batch_size=4, val_images=4)


def test_reference_recipe_is_300k_images():
    assert (REFERENCE_RECIPE.epochs, REFERENCE_RECIPE.images_per_epoch, REFERENCE_RECIPE.batch_size) == (30, 10_000, 64)
    assert REFERENCE_RECIPE.images_seen == 300_000 and QUICK_RECIPE.images_seen < 100


@pytest.mark.parametrize("field", ["epochs", "images_per_epoch", "batch_size", "val_images"])
def test_recipe_rejects_non_positive_values(field):
    values = {"epochs": 1, "images_per_epoch": 1, "batch_size": 1, "val_images": 1, field: 0}
    with pytest.raises(ValueError, match=f"Recipe.{field}=0"):
        Recipe(**values)


def test_time_budget_stops_after_the_first_epoch():
    history = train(tiny_model(), Recipe(epochs=5, images_per_epoch=4, batch_size=4, val_images=4),
                    callbacks=[TimeBudget(0)], verbose=0)
    assert len(history.history["loss"]) == 1


def test_load_or_train_trains_once_then_loads(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(paths.MODELS_ENV, str(tmp_path))
    model, history, trained = load_or_train("tiny", tiny_model, TINY, verbose=0)
    assert trained and len(history["loss"]) == 2 and len(history["epoch_seconds"]) == 2
    assert paths.model_path("tiny").exists() and paths.model_path("tiny").name.endswith("-quick.keras")
    again, history_again, trained_again = load_or_train("tiny", tiny_model, TINY, verbose=0)
    assert not trained_again and history_again == history
    assert "Loaded tiny-quick.keras" in capsys.readouterr().out
    x = np.random.default_rng(0).random((3, 128, 128, 1), dtype=np.float32)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0))
    _, _, retrained = load_or_train("tiny", tiny_model, TINY, retrain=True, verbose=0)
    assert retrained


def test_load_or_train_goes_on_with_a_run_that_stopped_early(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(paths.MODELS_ENV, str(tmp_path))
    three = Recipe(epochs=3, images_per_epoch=8, batch_size=4, val_images=4)  # 2 batches an epoch
    _, stopped, _ = load_or_train("tiny", tiny_model, three, retrain=True, verbose=0, callbacks=[TimeBudget(0)])
    assert len(stopped["loss"]) == 1
    capsys.readouterr()
    model, history, trained = load_or_train("tiny", tiny_model, three, verbose=0)
    assert "it holds 1 of the 3 epochs the recipe asks for" in capsys.readouterr().out
    assert trained and len(history["loss"]) == len(history["epoch_seconds"]) == 3
    assert history["loss"][0] == stopped["loss"][0]  # the stopped run's epoch, not a new first one
    assert int(model.optimizer.iterations) == 3 * 2  # the saved optimizer went on: 2 steps, then 4
    _, again, trained_again = load_or_train("tiny", tiny_model, three, verbose=0)
    assert not trained_again and again == history


@pytest.mark.parametrize("initial_epoch", [-1, 2])
def test_train_refuses_a_first_epoch_outside_the_recipe(initial_epoch):
    with pytest.raises(ValueError, match=f"initial_epoch={initial_epoch} is invalid"):
        train(tiny_model(), TINY, initial_epoch=initial_epoch, verbose=0)


def test_quick_and_full_models_never_share_a_file(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.MODELS_ENV, str(tmp_path))
    monkeypatch.setenv("MNISTSUM_QUICK", "0")
    full = paths.model_path("baseline")
    monkeypatch.setenv("MNISTSUM_QUICK", "1")
    assert full.name == "baseline.keras" and paths.model_path("baseline").name == "baseline-quick.keras"


def test_a_time_budget_spans_several_fits():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.zeros((8, 2), np.float32), np.zeros((8, 1), np.float32)
    budget = TimeBudget(0.0)  # spent at once: every fit stops after its first epoch
    first = model.fit(x, y, epochs=3, verbose=0, callbacks=[budget])
    second = model.fit(x, y, epochs=3, verbose=0, callbacks=[budget])
    assert len(first.history["loss"]) == 1 and len(second.history["loss"]) == 1
    assert len(model.fit(x, y, epochs=3, verbose=0, callbacks=[TimeBudget(3600)]).history["loss"]) == 3
