"""Sum accuracy and MAE: numpy, streaming Keras metric, rounding, shapes, serialisation."""

import keras
import numpy as np
import pytest

from mnistsum.metrics import SumAccuracy, constant_baseline, sum_accuracy, sum_mae


def test_half_to_even_rounding():
    # 22.5 -> 22 and 23.5 -> 24 (banker's rounding), as in numpy.rint and keras.ops.round
    assert sum_accuracy([22, 24, 23, 23], [22.5, 23.5, 22.5, 23.5]) == 0.5
    metric = SumAccuracy()
    metric.update_state(np.array([22, 24, 23, 23]), np.array([22.5, 23.5, 22.5, 23.5]))
    assert float(metric.result()) == 0.5


@pytest.mark.parametrize("shape_true, shape_pred", [((4,), (4,)), ((4, 1), (4,)), ((4,), (4, 1)), ((4, 1), (4, 1))])
def test_shapes_n_and_n_by_1(shape_true, shape_pred):
    y = np.array([1, 2, 3, 4.0])
    p = np.array([1.2, 2.6, 3.4, 4.0])
    assert sum_accuracy(y.reshape(shape_true), p.reshape(shape_pred)) == 0.75
    metric = SumAccuracy()
    metric.update_state(y.reshape(shape_true), p.reshape(shape_pred))
    assert float(metric.result()) == 0.75


def test_bad_shapes_and_empty_input():
    with pytest.raises(ValueError, match="2 values but y_pred has 3 values"):
        sum_accuracy([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        sum_accuracy(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="at least one"):
        sum_mae([], [])


def test_streaming_metric_agrees_with_numpy_over_batches():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 46, 1000)
    p = y + rng.normal(0, 0.8, 1000)
    metric = SumAccuracy()
    for start in range(0, 1000, 64):
        metric.update_state(y[start:start + 64], p[start:start + 64, None])
    assert abs(float(metric.result()) - sum_accuracy(y, p)) < 1e-6
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_sample_weight():
    metric = SumAccuracy()
    metric.update_state(np.array([1, 2]), np.array([1.0, 5.0]), sample_weight=np.array([3.0, 1.0]))
    assert float(metric.result()) == 0.75


def test_mae_and_constant_floor():
    assert sum_mae([1, 2, 3], [2, 2, 2]) == pytest.approx(2 / 3)
    floor = constant_baseline([22, 22, 23, 10])
    assert floor == {"guess": 22, "sum_accuracy": 0.5, "mae": pytest.approx(13 / 4)}


def test_model_with_metric_saves_and_reloads(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("adam", "mse", metrics=[SumAccuracy()])
    x, y = np.ones((8, 3)), np.arange(8.0)
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0))
    scores = again.evaluate(x, y, return_dict=True, verbose=0)
    assert scores["sum_accuracy"] == pytest.approx(sum_accuracy(y, model.predict(x, verbose=0)))
