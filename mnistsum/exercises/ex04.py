"""Exercises of notebook 04 (the baseline CNN). Set-up: ``from mnistsum.exercises import ____, ex04``.

- q1: define ``conv_params(kernel_size, c_in, c_out)``, then ``ex04.q1.check(conv_params)``.
- q2: build the Keras model ``small_model``, then ``ex04.q2.check(small_model)`` (no training needed).
- q3 (open): ``ex04.q3.hint()``, ``ex04.q3.solution()``.

Keras is imported only when a checker or :func:`build_small_model` runs.
"""

from __future__ import annotations

import numpy as np

from mnistsum.exercises.core import (
    Incorrect, OpenQuestion, Question, call, expect_callable, expect_equal, sentence
)

__all__ = ["q1", "q2", "q3"]

#: ``mnistsum.models.build_baseline_model().count_params()``.
BASELINE_PARAMS = 2_393_729
#: ``small_model`` may have at most half the baseline's parameters.
PARAM_LIMIT = BASELINE_PARAMS // 2
INPUT_SHAPE = (128, 128, 1)


# ----------------------------------------------------------------------------- references

def conv_params(kernel_size: int, c_in: int, c_out: int) -> int:
    """Trainable parameters of a Conv2D layer with square kernels: weights plus one bias per filter.

    >>> conv_params(3, 128, 128)  # conv2 of the baseline
    147584
    """
    return kernel_size * kernel_size * c_in * c_out + c_out


def build_small_model():
    """The baseline's recipe with 64 filters and a fourth Conv+MaxPool block: 373,697 parameters (16%)."""
    import keras

    from mnistsum.metrics import SumAccuracy

    inputs = keras.Input((128, 128, 1), name="canvas")
    x = inputs
    for block in range(1, 5):  # 128 -> 64 -> 32 -> 16 -> 8 pixels
        x = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name=f"conv{block}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{block}")(x)
    x = keras.layers.Flatten(name="flatten")(x)  # 8 * 8 * 64 = 4096 features instead of 16 * 16 * 128
    x = keras.layers.Dense(64, activation="relu", name="dense")(x)
    outputs = keras.layers.Dense(1, activation="relu", name="sum")(x)
    model = keras.Model(inputs, outputs, name="small")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse",
                  metrics=[SumAccuracy(), keras.metrics.MeanAbsoluteError(name="mae")])
    return model


# ----------------------------------------------------------------------------- checkers

def _keras_conv_params(kernel_size: int, c_in: int, c_out: int) -> int:
    import keras

    layer = keras.layers.Conv2D(c_out, kernel_size)
    layer.build((None, 16, 16, c_in))
    return int(layer.count_params())


def _check_conv_params(answer) -> str:
    fn = expect_callable(answer, "conv_params")
    rng = np.random.default_rng()
    cases = [(3, 1, 128), (3, 128, 128)] + [(int(rng.integers(1, 8)), int(rng.integers(1, 65)),
                                              int(rng.integers(1, 129))) for _ in range(6)]
    for k, c_in, c_out in cases:
        expected = _keras_conv_params(k, c_in, c_out)
        got = call(fn, k, c_in, c_out, name="conv_params")
        if isinstance(got, float) and got.is_integer():
            got = int(got)
        if not isinstance(got, (int, np.integer)) or isinstance(got, bool):
            raise Incorrect(f"conv_params({k}, {c_in}, {c_out}) returned {got!r}; return a whole number (int).")
        advice = {
            k * k * c_in * c_out: "you forgot the biases: one per filter (c_out of them).",
            k * k * c_out + c_out: "each filter spans all c_in input channels: k * k * c_in weights per filter.",
            k * c_in * c_out + c_out: "a kernel_size of k means a k x k kernel: k * k weights per input channel.",
        }
        layer = f"keras.layers.Conv2D({c_out}, {k}) on {c_in} input channels has {expected:,} parameters."
        expect_equal(got, expected, f"conv_params({k}, {c_in}, {c_out})",
                     f"{sentence(advice.get(int(got), ''))} {layer}".strip())
    return ("conv_params agrees with keras.layers.Conv2D(...).count_params() on 8 layers, e.g. the baseline's "
            "conv2: 3 * 3 * 128 * 128 + 128 = 147,584.")


def _check_small_model(answer) -> str:
    import keras

    if not isinstance(answer, keras.Model):
        if callable(answer):
            raise Incorrect("that is a function: check the model it builds, e.g. "
                            "small_model = build_small_model(); ex04.q2.check(small_model).")
        raise Incorrect(f"small_model should be a keras.Model; it is {type(answer).__name__}.")
    try:
        n = int(answer.count_params())
    except ValueError:
        raise Incorrect("your model is not built yet, so it has no parameters: start it with "
                        "keras.Input((128, 128, 1)).") from None
    try:
        inputs = list(answer.inputs or [])
    except (AttributeError, ValueError):
        inputs = []
    if len(inputs) > 1:
        raise Incorrect(f"your model has {len(inputs)} inputs; it should take one: the canvas.")
    if inputs and tuple(inputs[0].shape[1:]) != INPUT_SHAPE:
        raise Incorrect(f"your model takes inputs of shape {tuple(inputs[0].shape)}; the canvases are "
                        f"(None, 128, 128, 1): start with keras.Input((128, 128, 1)).")
    if n > PARAM_LIMIT:
        raise Incorrect(f"your model has {n:,} parameters; the limit is {PARAM_LIMIT:,} (half the baseline's "
                        f"{BASELINE_PARAMS:,}). Most of the baseline's parameters sit in the Dense layer after "
                        "Flatten: shrink what it flattens (fewer filters, one more pooling) or use global pooling.")
    try:
        output = answer(np.zeros((2,) + INPUT_SHAPE, np.float32), training=False)
    except Exception as error:  # the learner's model: explain, do not crash the notebook
        raise Incorrect(f"calling your model on two blank canvases raised {type(error).__name__}: {error}") from None
    if isinstance(output, (list, tuple, dict)):
        raise Incorrect("your model has several outputs; it should give one number per image: shape (None, 1).")
    shape = tuple(output.shape)
    if shape != (2, 1):
        raise Incorrect(f"your model's output has shape (None, {', '.join(map(str, shape[1:]))}) for a batch of "
                        "images; it should be (None, 1): one predicted sum per image (end with Dense(1)).")
    return (f"small_model takes (None, 128, 128, 1) canvases, gives (None, 1) sums and has {n:,} parameters, "
            f"{n / BASELINE_PARAMS:.0%} of the baseline's {BASELINE_PARAMS:,} (limit {PARAM_LIMIT:,}). "
            "Exercise 3 trains it.")


# ----------------------------------------------------------------------------- questions

q1 = Question(
    "conv_params", _check_conv_params,
    hint="A Conv2D layer has c_out filters; each is a kernel_size x kernel_size window over all c_in input "
         "channels, plus one bias. Compare with keras.layers.Conv2D(c_out, k) built on c_in channels: "
         "layer.build((None, 28, 28, c_in)); layer.count_params().",
    solution=conv_params,
)

q2 = Question(
    "small_model", _check_small_model,
    hint=f"model.summary() shows where the baseline's {BASELINE_PARAMS:,} parameters are: over 2 million in the "
         "Dense(64) after Flatten (16 * 16 * 128 inputs). Fewer filters and one more Conv+MaxPool block shrink "
         "the flattened vector; keras.layers.GlobalAveragePooling2D removes that cost altogether.",
    solution=[build_small_model, "small_model = build_small_model()\nsmall_model.summary()"],
)

q3 = OpenQuestion(
    "ex04.q3 (train the small model)",
    hint="Train small_model with exactly the baseline's recipe (mnistsum.training.train(model, baseline_recipe())) "
         "on a GPU, score both on the benchmark set with mnistsum.benchmark.evaluate_sum_model, and compare "
         "sum accuracy, MAE, parameters, seconds per epoch and the learning curves. Quick-mode numbers "
         "(MNISTSUM_QUICK=1) mean nothing: run the full recipe.",
    solution="""\
from mnistsum.benchmark import evaluate_sum_model
from mnistsum.training import WallClock, baseline_recipe, train

small_model = build_small_model()
history = train(small_model, baseline_recipe(), callbacks=[WallClock()])      # GPU: minutes; CPU: hours
small = evaluate_sum_model(lambda x: small_model.predict(x, verbose=0))
print(f"small: {small.sum_accuracy():.3f} accuracy, {small.mae():.2f} MAE, {small_model.count_params():,} params")
# the same for the trained baseline (load it with mnistsum.training.load_or_train) and plot both histories

Discussion (what a good answer says):
- A fair comparison changes one thing only: same recipe (epochs, images per epoch, batch size, seeds), same
  benchmark images, and ideally two or three seeds each, since one run's accuracy varies by a few points.
- Expect the small model to be close to the baseline, and sometimes better: the baseline's parameters sit
  in one huge Dense layer that mostly memorises *where* ink is, while the sum depends on *what* the digits
  are. Fewer parameters also train faster per epoch and overfit less (compare the train/val gap).
- The compute cost is set by the convolutions, not the parameter count: report FLOPs
  (mnistsum.models.conv_dense_flops) and seconds per epoch alongside the parameters.
- A good answer states the numbers, the learning curves, the per-epoch time, and a conclusion such as
  "four times fewer parameters for the same accuracy", with its uncertainty.""",
)
