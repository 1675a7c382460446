"""The reference baseline's exact architecture."""

import keras

import numpy as np

from mnistsum.models import build_baseline_model, conv_dense_flops


def test_baseline_layers_shapes_and_parameters():
    model = build_baseline_model()
    shapes = [(layer.name, tuple(layer.output.shape[1:])) for layer in model.layers]
    assert shapes == [
        ("canvas", (128, 128, 1)),
        ("conv1", (128, 128, 128)), ("pool1", (64, 64, 128)),
        ("conv2", (64, 64, 128)), ("pool2", (32, 32, 128)),
        ("conv3", (32, 32, 128)), ("pool3", (16, 16, 128)),
        ("flatten", (32768,)), ("dense", (64,)), ("sum", (1,)),
    ]
    # conv1 1,280 + conv2/conv3 147,584 each + dense 2,097,216 + output 65
    assert model.count_params() == 1_280 + 2 * 147_584 + 2_097_216 + 65 == 2_393_729
    for name in ("conv1", "conv2", "conv3"):
        layer = model.get_layer(name)
        assert layer.kernel_size == (3, 3) and layer.padding == "same" and layer.activation.__name__ == "relu"
    assert model.get_layer("sum").activation.__name__ == "relu"
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.loss == "mse"
    scores = model.evaluate(np.zeros((2, 128, 128, 1)), np.zeros(2), return_dict=True, verbose=0)
    assert set(scores) == {"loss", "sum_accuracy", "mae"}
    assert scores["sum_accuracy"] == 1.0  # biases start at 0, so a blank canvas predicts exactly 0


def test_flops_of_the_baseline():
    model = build_baseline_model()
    conv = 2 * 9 * 128 * (128 * 128 * 1 + 64 * 64 * 128 + 32 * 32 * 128)
    dense = 2 * (32768 * 64 + 64)
    assert conv_dense_flops(model) == conv + dense


def test_baseline_under_mixed_precision_computes_in_bfloat16_and_answers_in_float32():
    from mnistsum.precision import precision

    with precision("mixed_bfloat16"):
        model = build_baseline_model()
    assert keras.mixed_precision.global_policy().name == "float32"  # restored
    assert model.get_layer("conv2").compute_dtype == "bfloat16"
    assert all(w.dtype == "float32" for w in model.weights)  # the weights Adam updates stay float32
    # A bfloat16 output moves in steps of 0.25 above 32 (44.3 would come out as 44.25): the scored sum is float32.
    assert model.get_layer("sum").compute_dtype == "float32"
    model.get_layer("sum").set_weights([np.zeros((64, 1)), np.array([44.3])])
    assert model.predict(np.zeros((1, 128, 128, 1)), verbose=0)[0, 0] == np.float32(44.3)
