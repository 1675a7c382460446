"""Training for a wall time: the cosine over the clock, and stages (a curriculum) with their shares of it."""

import itertools

import keras
import numpy as np
import pytest

from mnistsum.timed import Stage, time_cosine, train_for


def test_time_cosine_warms_up_then_decays_to_its_floor():
    rates = [time_cosine(f, 1e-3) for f in np.linspace(0, 1, 101)]
    peak = int(np.argmax(rates))
    assert rates[0] == 0 and rates[peak] == pytest.approx(1e-3) and peak == 2
    assert all(a >= b for a, b in zip(rates[peak:], rates[peak + 1:])), "a cosine only falls after the warm-up"
    assert rates[-1] == pytest.approx(1e-5) and time_cosine(1.5, 1e-3) == pytest.approx(1e-5)


def _tiny_model() -> keras.Model:
    """Predicts 0 for every input until it trains (its weights start at zero)."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(keras.optimizers.Adam(1e-2), "mse", metrics=["mae"])
    return model


def _feed(value: float, seen: list):
    """Batches of 4 whose target is ``value``; ``seen`` counts the batches drawn."""
    def batches():
        for _ in itertools.count():
            seen.append(value)
            yield np.ones((4, 3), np.float32), np.full((4, 1), value, np.float32)
    return batches


def test_train_for_runs_every_stage_in_order_and_logs_its_phase():
    seen, lines = [], []
    stages = [Stage(0.001, 1, _feed(1.0, seen)), Stage(0.5, 2, _feed(2.0, seen)), Stage(1.0, 3, _feed(3.0, seen))]
    model = _tiny_model()
    history = train_for(model, 1.5, 1e-2, stages, (np.ones((4, 3)), np.full((4, 1), 3.0)), images_per_epoch=40,
                        batch_size=4, log=lines.append)
    assert seen[0] == 1.0 and seen.count(1.0) >= 1, "a stage trains at least one batch, however short its share"
    assert seen == sorted(seen), "stages run in order"
    phases = history["phase"]
    assert phases == sorted(phases) and set(phases) == {1, 2, 3} and len(lines) == len(phases)
    assert set(history) == {"loss", "mae", "val_loss", "val_mae", "learning_rate", "images", "epoch_seconds", "phase"}
    assert sum(history["images"]) == 4 * (len(seen) - 3), "each stage draws one batch it does not train on"
    assert all(n <= 40 for n in history["images"])
    # every target is above the untrained model's 0, so any training moves it towards the validation target 3
    # (how far depends on how many batches the machine fits into 1.5 s)
    assert history["val_mae"][-1] < 3.0 - 1e-3, "trained towards the stages' targets"


@pytest.mark.parametrize("seconds, rate, until, message", [
    (0, 1e-3, (1.0,), "seconds > 0"),
    (1, 0, (1.0,), "learning_rate > 0"),
    (1, 1e-3, (), "stages must end"),
    (1, 1e-3, (0.5,), "the last at 1.0"),
    (1, 1e-3, (0.6, 0.3, 1.0), "increasing"),
])
def test_train_for_refuses_bad_times_and_stages(seconds, rate, until, message):
    stages = [Stage(u, i, _feed(0.0, [])) for i, u in enumerate(until)]
    with pytest.raises(ValueError, match=message):
        train_for(_tiny_model(), seconds, rate, stages, (np.ones((4, 3)), np.ones((4, 1))), images_per_epoch=4)


def test_a_stage_may_train_its_own_model_that_shares_the_weights_and_optimizer():
    inputs = keras.Input((3,))
    dense = keras.layers.Dense(1, kernel_initializer="zeros")
    model = keras.Model(inputs, dense(inputs))
    model.compile(optimizer=keras.optimizers.SGD(), loss="mse")
    doubled = keras.Model(inputs, 2.0 * dense(inputs))
    doubled.compile(optimizer=model.optimizer, loss="mse")
    val = (np.ones((4, 3)), np.full((4, 1), 3.0))
    train_for(model, 0.5, 1e-2, [Stage(1.0, 1, _feed(6.0, []), doubled)], val, images_per_epoch=40, batch_size=4,
              log=lambda _: None)
    assert 0 < dense.get_weights()[0].sum() < 6.0, "doubled trained the shared layer towards 6 / 2 per input"
    doubled.compile(optimizer=keras.optimizers.SGD(), loss="mse")
    with pytest.raises(ValueError, match="the same object"):
        train_for(model, 0.5, 1e-2, [Stage(1.0, 1, _feed(6.0, []), doubled)], val, images_per_epoch=4)


def test_the_history_keeps_each_epochs_mean_training_scores_not_its_last_batchs():
    def alternating():  # targets 1, 3, 1, 3, ...: an untrained zero model's squared errors 1, 9, 1, 9, ...
        for k in itertools.count():
            yield np.ones((4, 3), np.float32), np.full((4, 1), 1.0 + 2 * (k % 2), np.float32)

    history = train_for(_tiny_model(), 1.0, 1e-12, [Stage(1.0, 1, alternating)], (np.ones((4, 3)), np.ones((4, 1))),
                        images_per_epoch=8, batch_size=4, log=lambda _: None)
    assert history["loss"][0] == pytest.approx(5.0, rel=1e-4), "the mean of 1 and 9, not the last batch's 9"
    assert history["mae"][0] == pytest.approx(2.0, rel=1e-4)
