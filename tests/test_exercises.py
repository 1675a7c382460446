"""The checked exercises: right answers pass, wrong and hard-coded ones fail, stubs are "not attempted"."""

import keras
import numpy as np
import pytest

from mnistsum.analysis import correlation
from mnistsum.exercises import ____, OpenQuestion, Question, ex01, ex02, ex03, ex04, ex05

# --------------------------------------------------------------------------- wrong answers, one lesson each


def ink_share(images, labels):  # a share of pixels instead of a count
    return ex01.ink_per_class(images, labels) / images[0].size


def ink_at_least_127(images, labels):
    ink = (images >= 127).reshape(len(images), -1).sum(1)
    return np.array([ink[labels == k].mean() for k in range(10)])


def share_with_cosine(clothes, labels, templates, threshold):  # forgot to centre the images
    def unit(x):
        x = x.reshape(len(x), -1).astype(float)
        return x / np.linalg.norm(x, axis=1, keepdims=True)
    best = (unit(clothes) @ unit(templates).T).max(1)
    return np.array([np.mean(best[labels == k] > threshold) for k in range(10)])


def share_over_all_images(clothes, labels, templates, threshold):
    best = correlation(clothes, templates).max(1)
    return np.array([np.sum(best[labels == k] > threshold) / len(labels) for k in range(10)])


def overlaps_touching(a, b):  # touching edges counted as overlapping
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def place_one_too_many(n, attempts, rng, canvas=128, patch=28):
    return ex02.place_patches(n + 1, attempts, rng, canvas, patch)


def place_without_retry(n, attempts, rng, canvas=128, patch=28):
    return ex02.place_patches(n, 1, rng, canvas, patch)


def place_overlapping(n, attempts, rng, canvas=128, patch=28):
    return [tuple(int(v) for v in rng.integers(0, canvas - patch + 1, 2)) for _ in range(n)]


def place_stop_at_first_failure(n, attempts, rng, canvas=128, patch=28):
    placed = []
    for _ in range(n):
        for _ in range(attempts):
            x, y = (int(v) for v in rng.integers(0, canvas - patch + 1, 2))
            if all(abs(x - px) >= patch or abs(y - py) >= patch for px, py in placed):
                placed.append((x, y))
                break
        else:
            return placed  # gives up on every later patch too
    return placed


def place_with_global_random(n, attempts, rng, canvas=128, patch=28):
    return ex02.place_patches(n, attempts, np.random.default_rng(np.random.randint(2**31)), canvas, patch)


def within_1_broadcasting(y_true, y_pred):  # (N, 1) - (N,) becomes (N, N)
    return float(np.mean(np.abs(np.rint(np.asarray(y_pred)) - np.asarray(y_true)) <= 1))


def within_1_unrounded(y_true, y_pred):
    return float(np.mean(np.abs(np.ravel(y_pred) - np.ravel(y_true)) <= 1))


def conv_without_bias(k, c_in, c_out):
    return k * k * c_in * c_out


def most_missed_by_rate(sums, predictions):
    sums = np.asarray(sums).reshape(-1)
    missed = np.rint(np.ravel(predictions)) != sums
    rate = np.bincount(sums, weights=missed) / np.maximum(np.bincount(sums), 1)
    return int(rate.argmax())


def most_missed_broadcasting(sums, predictions):
    missed = np.rint(predictions) != sums
    return int(np.bincount(np.broadcast_to(sums, missed.shape)[missed]).argmax())


def off_by_one_over_all(sums, predictions):
    error = np.abs(np.rint(np.ravel(predictions)) - np.ravel(sums))
    return float(np.mean(error == 1))


def off_by_one_nan_without_misses(sums, predictions):
    error = np.abs(np.rint(np.ravel(predictions)) - np.ravel(sums))
    with np.errstate(invalid="ignore"):
        return float(np.sum(error == 1) / np.sum(error != 0))


def model(*layers, shape=(128, 128, 1)):
    return keras.Sequential([keras.Input(shape)] + list(layers))


FUNCTION_QUESTIONS = {
    "ex01.q1": (ex01.q1, ex01.ink_per_class, [ink_share, ink_at_least_127], lambda i, l: np.full(10, 300.0)),
    "ex01.q2": (ex01.q2, ex01.digit_like_share, [share_with_cosine, share_over_all_images],
                lambda c, l, t, th: np.full(10, 0.5)),
    "ex02.q1": (ex02.q1, ex02.overlaps, [overlaps_touching, lambda a, b: a == b], lambda a, b: True),
    "ex02.q2": (ex02.q2, ex02.place_patches,
                [place_one_too_many, place_without_retry, place_overlapping, place_stop_at_first_failure,
                 place_with_global_random],
                lambda n, a, rng, c=128, p=28: [(0, 0), (28, 0), (56, 0), (84, 0), (0, 28)]),
    "ex03.q2": (ex03.q2, ex03.mae_within_1, [within_1_broadcasting, within_1_unrounded], lambda t, p: 0.8),
    "ex04.q1": (ex04.q1, ex04.conv_params, [conv_without_bias], lambda k, c_in, c_out: 147_584),
    "ex05.q1": (ex05.q1, ex05.most_missed_sum, [most_missed_by_rate, most_missed_broadcasting], lambda s, p: 22),
    "ex05.q2": (ex05.q2, ex05.off_by_one_share, [off_by_one_over_all, off_by_one_nan_without_misses],
                lambda s, p: 0.6),
}


@pytest.mark.parametrize("name", FUNCTION_QUESTIONS)
def test_reference_function_passes(name, capsys):
    question, reference, _, _ = FUNCTION_QUESTIONS[name]
    assert question.check(reference) is True
    assert "Correct!" in capsys.readouterr().out


@pytest.mark.parametrize("name", FUNCTION_QUESTIONS)
def test_hard_coded_answers_fail(name, capsys):
    question, reference, _, constant_function = FUNCTION_QUESTIONS[name]
    assert question.check(constant_function) is False
    # the value itself instead of the function: the checker explains what to pass
    assert question.check(np.zeros(10)) is False
    assert "pass the function itself" in capsys.readouterr().out


@pytest.mark.parametrize("name", FUNCTION_QUESTIONS)
def test_stubs_are_not_attempted(name, capsys):
    question = FUNCTION_QUESTIONS[name][0]

    def stub(*args, **kwargs):
        raise NotImplementedError

    assert question.check(____) is None
    assert question.check(stub) is None
    out = capsys.readouterr().out
    assert out.count("Not attempted yet") == 2 and "replace ____ with your answer" in out


@pytest.mark.parametrize("name", FUNCTION_QUESTIONS)
def test_a_crashing_function_is_a_wrong_answer(name, capsys):
    assert FUNCTION_QUESTIONS[name][0].check(lambda *args: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out


# --------------------------------------------------------------------------- messages that teach


def test_messages_say_what_is_wrong(capsys):
    ex01.q1.check(ink_share)
    assert "share of bright pixels" in capsys.readouterr().out
    ex01.q2.check(share_with_cosine)
    assert "centre each image" in capsys.readouterr().out
    ex02.q1.check(overlaps_touching)
    assert "touch" in capsys.readouterr().out
    ex02.q2.check(place_one_too_many)
    assert "your generator placed 6 digits; the limit is 5" in capsys.readouterr().out
    ex03.q2.check(within_1_broadcasting)
    assert "(N, N)" in capsys.readouterr().out
    ex04.q1.check(conv_without_bias)
    assert "biases" in capsys.readouterr().out
    ex05.q1.check(most_missed_by_rate)
    assert "not the miss rate" in capsys.readouterr().out
    ex05.q2.check(off_by_one_nan_without_misses)
    assert "return 0.0" in capsys.readouterr().out


def test_ex03_q1_is_a_number(capsys):
    assert ex03.q1.check(0.5) is True
    assert ex03.q1.check(np.float64(0.5)) is True
    assert ex03.q1.check(1.0) is False
    assert "half to even" in capsys.readouterr().out
    assert ex03.q1.check(50) is False
    assert "percentage" in capsys.readouterr().out
    assert ex03.q1.check("0.5") is False
    assert ex03.q1.check(____) is None
    assert ex03.q1.check(ex03.shifted_accuracy()) is True


def test_ex04_q2_small_model(capsys):
    assert ex04.q2.check(ex04.build_small_model()) is True
    assert "373,697 parameters" in capsys.readouterr().out
    too_big = model(keras.layers.Flatten(), keras.layers.Dense(80), keras.layers.Dense(1))
    assert ex04.q2.check(too_big) is False
    assert f"{too_big.count_params():,} parameters; the limit is 1,196,864" in capsys.readouterr().out
    assert ex04.q2.check(model(keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10))) is False
    assert "(None, 1)" in capsys.readouterr().out
    assert ex04.q2.check(model(keras.layers.Flatten(), keras.layers.Dense(1), shape=(28, 28, 1))) is False
    assert "(None, 28, 28, 1)" in capsys.readouterr().out
    assert ex04.q2.check(ex04.build_small_model) is False  # the builder, not the model
    assert ex04.q2.check(____) is None


def test_ex04_limit_is_half_the_baseline():
    assert ex04.PARAM_LIMIT == 2_393_729 // 2 and ex04.BASELINE_PARAMS == 2_393_729


# --------------------------------------------------------------------------- open questions, hints, solutions

ALL_MODULES = (ex01, ex02, ex03, ex04, ex05)


@pytest.mark.parametrize("module", ALL_MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_every_module_has_two_checked_and_one_open_question(module, capsys):
    assert isinstance(module.q1, Question) and isinstance(module.q2, Question)
    assert not isinstance(module.q1, OpenQuestion) and not isinstance(module.q2, OpenQuestion)
    assert isinstance(module.q3, OpenQuestion)
    assert module.q3.check() is None and module.q3.check("my essay") is None
    assert "open-ended" in capsys.readouterr().out
    for question in (module.q1, module.q2, module.q3):
        question.hint()
        assert capsys.readouterr().out.startswith("Hint: ")
        question.solution()
        assert len(capsys.readouterr().out) > 80
    assert set(module.__all__) == {"q1", "q2", "q3"}


def test_solutions_print_the_reference_source(capsys):
    ex02.q1.solution()
    out = capsys.readouterr().out
    assert "def overlaps(box_a" in out and "ax0 < bx1" in out
    ex04.q2.solution()
    assert "small_model = build_small_model()" in capsys.readouterr().out


def test_placeholder_is_one_object():
    from mnistsum.exercises.core import ____ as same

    assert same is ____ and repr(____) == "____"
    with pytest.raises(NotImplementedError):
        ____()


# --------------------------------------------------------------------------- notebooks 06-09

from mnistsum.exercises import ex06, ex07, ex08, ex09  # noqa: E402


def confusion_transposed(y_true, y_pred):
    return ex06.confusion(y_pred, y_true)


def auc_without_ties(is_positive, scores):
    pos, neg = np.asarray(scores)[np.asarray(is_positive)], np.asarray(scores)[~np.asarray(is_positive)]
    return float((pos[:, None] > neg).mean())


def pad_with_zeros(digits):
    return np.array(list(digits) + [0] * (5 - len(digits)))


def order_by_y(boxes, digits):
    keep = np.asarray(digits) >= 0
    return ex07.pad_targets(np.asarray(digits)[keep][np.argsort(np.asarray(boxes)[keep, 1], kind="stable")])


def focal_without_alpha(p, alpha, gamma):
    return ex08.focal_loss(p, 1.0, gamma)


def uniform_sums(n):
    out = np.zeros(46)
    out[: 9 * n + 1] = 1 / (9 * n + 1)
    return out


def iou_over_first_box(a, b):
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return inter / ((a[2] - a[0]) * (a[3] - a[1]))


def iou_inclusive(a, b):
    return ex09.iou(a, (b[0], b[1], b[2] + 1, b[3] + 1))


def peaks_without_threshold(score, radius, threshold):
    return ex09.peaks(score, radius, -np.inf)


def peaks_radius_too_small(score, radius, threshold):
    return ex09.peaks(score, radius - 1, threshold)


FUNCTION_QUESTIONS.update({
    "ex06.q1": (ex06.q1, ex06.confusion, [confusion_transposed], lambda t, p: np.eye(10, dtype=int) * 40),
    "ex06.q2": (ex06.q2, ex06.auc_score, [auc_without_ties, lambda y, s: 1 - ex06.auc_score(y, s)],
                lambda y, s: 0.75),
    "ex07.q1": (ex07.q1, ex07.pad_targets, [pad_with_zeros], lambda d: np.array([1, 2, 10, 10, 10])),
    "ex07.q2": (ex07.q2, ex07.reading_order, [order_by_y], lambda b, d: np.array([1, 2, 3, 10, 10])),
    "ex08.q1": (ex08.q1, ex08.focal_loss, [focal_without_alpha], lambda p, a, g: np.full(20, 0.1)),
    "ex08.q2": (ex08.q2, ex08.sum_probabilities, [uniform_sums], lambda n: np.full(46, 1 / 46)),
    "ex09.q1": (ex09.q1, ex09.iou, [iou_over_first_box, iou_inclusive], lambda a, b: 0.5),
    "ex09.q2": (ex09.q2, ex09.peaks, [peaks_without_threshold, peaks_radius_too_small],
                lambda s, r, t: np.zeros_like(s, bool)),
})
ALL_MODULES = (*ALL_MODULES, ex06, ex07, ex08, ex09)


def test_part_two_messages_say_what_is_wrong(capsys):
    for question, wrong, lesson in [
        (ex06.q1, confusion_transposed, "transposed"), (ex06.q2, auc_without_ties, "ties"),
        (ex07.q1, pad_with_zeros, "BLANK = 10"), (ex07.q2, order_by_y, "left to right"),
        (ex08.q1, focal_without_alpha, "alpha"), (ex08.q2, uniform_sums, "convolution"),
        (ex09.q1, iou_over_first_box, "union"), (ex09.q2, peaks_without_threshold, "threshold"),
    ]:
        assert question.check(wrong) is False
        assert lesson in capsys.readouterr().out, question.name


# --------------------------------------------------------------------------- notebook 10

from mnistsum.exercises import ex10  # noqa: E402


def path_without_end(l1, l2, steps):
    t = np.linspace(0, 1, steps, endpoint=False)[:, None]
    return (1 - t) * l1 + t * l2


def share_in_order(probabilities, source, partner):
    order = np.argsort(probabilities, axis=1)[:, ::-1]
    return float(((order[:, 0] == source) & (order[:, 1] == partner)).mean())


def share_of_top_one(probabilities, source, partner):
    top = np.asarray(probabilities).argmax(axis=1)
    return float(((top == source) | (top == partner)).mean())


FUNCTION_QUESTIONS.update({
    "ex10.q1": (ex10.q1, ex10.latent_path, [path_without_end, lambda a, b, s: ex10.latent_path(b, a, s)],
                lambda a, b, s: np.zeros((s, len(a)))),
    "ex10.q2": (ex10.q2, ex10.two_label_share, [share_in_order, share_of_top_one], lambda p, s, q: 0.5),
})
ALL_MODULES = (*ALL_MODULES, ex10)


def test_part_three_messages_say_what_is_wrong(capsys):
    for question, wrong, lesson in [(ex10.q1, path_without_end, "both ends"),
                                    (ex10.q1, lambda a, b, s: ex10.latent_path(b, a, s), "wrong way"),
                                    (ex10.q2, share_in_order, "order"), (ex10.q2, share_of_top_one, "two most likely")]:
        assert question.check(wrong) is False
        assert lesson in capsys.readouterr().out, question.name


# Last in the module: the list below is built when the decorator runs, so it must see every update above.
@pytest.mark.parametrize("name, wrong", [(name, wrong) for name, (_, _, wrongs, _) in FUNCTION_QUESTIONS.items()
                                         for wrong in wrongs])
def test_wrong_function_fails_without_raising(name, wrong, capsys):
    assert FUNCTION_QUESTIONS[name][0].check(wrong) is False
    assert "Not yet:" in capsys.readouterr().out
