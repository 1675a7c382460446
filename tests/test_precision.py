"""The mixed-precision switch: what it sets, what it restores, and what it refuses."""

import keras
import pytest

from mnistsum.precision import PRECISIONS, precision


def test_precision_sets_the_policy_and_restores_it_even_after_an_error():
    with pytest.raises(RuntimeError):
        with precision("mixed_float16"):
            assert keras.mixed_precision.global_policy().name == "mixed_float16"
            raise RuntimeError("training failed")
    assert keras.mixed_precision.global_policy().name == "float32"


def test_an_unknown_precision_says_which_ones_exist():
    with pytest.raises(ValueError, match="mixed_bfloat16"):
        with precision("bfloat16"):
            pass
    assert PRECISIONS[0] == "float32"
