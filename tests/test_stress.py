"""The stress test of notebook 10: muddled pools from the shipped auto-encoder, and the models' fall."""

import numpy as np
import pytest

from mnistsum import zoo
from mnistsum.benchmark import BENCHMARK_CONFIG, BENCHMARK_SEED
from mnistsum.generator import generate
from mnistsum.stress import StressResult, digit_outcomes, muddled_pools, stress_test


@pytest.fixture(scope="module")
def pools_and_muddled():
    return muddled_pools(per_digit=6, seed=1)


def test_muddled_pool_has_every_class_made_from_test_digits(pools_and_muddled):
    pools, muddled = pools_and_muddled
    assert pools.muddled.shape == (60, 28, 28) and pools.muddled.dtype == np.uint8
    assert np.bincount(pools.muddled_labels, minlength=10).tolist() == [6] * 10
    assert (muddled.partner != muddled.source).all()
    np.testing.assert_array_equal(pools.muddled, np.round(muddled.images * 255).astype(np.uint8))
    assert pools.digit_source == "MNIST test"


def test_the_detector_falls_when_every_digit_is_muddled(pools_and_muddled):
    pools, _ = pools_and_muddled
    result = stress_test({"best": zoo.load_shipped("best"), "sum-only": zoo.load_shipped("sum-only")}, pools,
                         shares=(0.0, 1.0), n=48)
    assert result.muddled_digits.tolist() == [0.0, 1.0]
    best = result.accuracy["best"]
    assert best[0] >= 0.75 and best[1] <= best[0] - 0.4, best  # measured: 0.9 -> 0.09 on 1,000 canvases
    assert result.by_muddled_count["best"][0] == best[0]
    # the detector's confidence is a probability, and lower on the canvases it gets wrong
    assert ((0 < result.confidence["best"]) & (result.confidence["best"] <= 1)).all()
    assert result.confidence_right["best"][0] > result.confidence_wrong["best"][1]
    assert "| 100% (100.0% of digits) |" in result.table()


def test_digit_outcomes_separate_original_and_muddled_digits(pools_and_muddled):
    from mnistsum.detector import detect, match

    pools, _ = pools_and_muddled
    half = generate(BENCHMARK_CONFIG.replace(muddled_share=0.5), BENCHMARK_SEED, range(32), pools)
    found = match(detect(zoo.load_shipped("best"), half.images), half.digits, half.boxes)
    outcomes = digit_outcomes(found, half.digits, half.muddled)
    assert outcomes["original"]["n"] + outcomes["muddled"]["n"] == half.n_digits.sum()
    assert outcomes["original"]["as labelled"] >= 0.9 > outcomes["muddled"]["as labelled"]
    for shares in outcomes.values():
        assert sum(v for k, v in shares.items() if k != "n") == pytest.approx(1.0)


def test_stress_test_refuses_models_it_cannot_read(pools_and_muddled):
    with pytest.raises(ValueError, match="no reader for \\['sequence'\\]"):
        stress_test({"sequence": None}, pools_and_muddled[0])
    with pytest.raises(ValueError, match="n >= 1"):
        stress_test({}, pools_and_muddled[0], n=0)


def test_a_result_survives_json_and_makes_a_table():
    import json

    result = StressResult(np.array([0.0, 1.0]), np.array([0.0, 1.0]), {"best": np.array([0.9, 0.1]),
                          "baseline": np.array([0.15, 0.1])}, {"best": np.array([0.95, 0.6])},
                          {"best": np.array([0.97, 0.7])}, {"best": np.array([0.8, np.nan])},
                          {"best": np.arange(6) / 10}, 1000)
    back = StressResult.from_json(json.loads(json.dumps(result.to_json(), allow_nan=False)))
    assert back.n == 1000 and back.accuracy["baseline"].tolist() == [0.15, 0.1]
    assert np.isnan(back.confidence_wrong["best"][1])
    assert back.table() == result.table()
    assert "| 100% (100.0% of digits) | 10.0% (conf. 0.60) | 10.0% |" in result.table()
