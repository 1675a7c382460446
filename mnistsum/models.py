"""Model builders. Each returns a compiled Keras model.

>>> model = build_baseline_model()
>>> model.count_params()
2393729
"""

from __future__ import annotations

import keras

from mnistsum.metrics import SumAccuracy

INPUT_SHAPE = (128, 128, 1)


def build_baseline_model(input_shape: tuple[int, int, int] = INPUT_SHAPE,
                         learning_rate: float = 1e-3) -> keras.Model:
    """The reference baseline: three Conv(128)+MaxPool blocks, Dense 64, one ReLU output, MSE."""
    inputs = keras.Input(input_shape, name="canvas")
    x = inputs
    for block in range(1, 4):
        x = keras.layers.Conv2D(128, 3, padding="same", activation="relu", name=f"conv{block}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{block}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(64, activation="relu", name="dense")(x)
    # float32 even under mixed precision (mnistsum.precision): the sum is what gets rounded and scored
    outputs = keras.layers.Dense(1, activation="relu", dtype="float32", name="sum")(x)
    model = keras.Model(inputs, outputs, name="baseline")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse",
                  metrics=[SumAccuracy(), keras.metrics.MeanAbsoluteError(name="mae")])
    return model


def conv_dense_flops(model: keras.Model) -> int:
    """Multiply-accumulates x 2 of the Conv2D and Dense layers for one image (forward pass).

    Pooling and activations are left out: they are a rounding error beside the
    convolutions.
    """
    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw = layer.kernel_size
            _, h, w, c_out = layer.output.shape
            c_in = layer.input.shape[-1]
            flops += 2 * h * w * c_out * kh * kw * c_in
        elif isinstance(layer, keras.layers.Dense):
            flops += 2 * layer.input.shape[-1] * layer.units
    return flops
