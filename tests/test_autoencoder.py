"""The auto-encoder's muddled digits: the method's pieces, and the shipped models' verdict on them."""

import json

import numpy as np
import pytest

from mnistsum.analysis import class_means
from mnistsum.autoencoder import Muddled, judge, muddle, nearest_other_class
from mnistsum.cli import main


def test_nearest_other_class_never_answers_the_own_class():
    rng = np.random.default_rng(0)
    latents, labels = rng.normal(size=(200, 4)), rng.integers(0, 10, 200)
    means = class_means(latents, labels)
    partner = nearest_other_class(latents, labels, means)
    assert (partner != labels).all()
    distance = np.linalg.norm(latents[:, None] - means[None], axis=-1)
    distance[np.arange(200), labels] = np.inf
    assert (distance[np.arange(200), partner] == distance.min(1)).all()
    with pytest.raises(ValueError, match="no examples"):
        class_means(latents, np.zeros(200, int))


class _Identity:
    """An 'encoder'/'decoder' pair on flattened 28x28 images: muddling then mixes pixels linearly."""

    def predict(self, x, verbose=0):
        return np.asarray(x, np.float32).reshape(len(x), -1)


class _Decoder(_Identity):
    def predict(self, x, verbose=0):
        return np.asarray(x, np.float32).reshape(len(x), 28, 28, 1)


def test_muddle_averages_latents_and_picks_the_partner_class():
    digits = np.zeros((4, 28, 28), np.uint8)
    digits[0, :14], digits[1, 14:], digits[2, :, :14], digits[3, :, 14:] = 255, 255, 255, 255
    labels = np.array([3, 3, 5, 8])
    latents = digits.reshape(4, -1) / 255.0
    # classes without digits get a mean far away, so the partner is 5 or 8
    means = np.stack([latents[labels == c].mean(0) if (labels == c).any() else np.full(784, 9.0) for c in range(10)])
    out = muddle(_Identity(), _Decoder(), digits, labels, means, digit=3, n=6, seed=1)
    assert isinstance(out, Muddled) and out.images.shape == (6, 28, 28)
    assert (out.source == 3).all() and set(out.partner) <= {5, 8} and (out.t == 0.5).all()
    np.testing.assert_allclose(out.images, (out.originals + out.partners) / 2, atol=1e-6)
    with pytest.raises(ValueError, match="digit"):
        muddle(_Identity(), _Decoder(), digits, labels, means, digit=12, n=1, seed=0)


def test_judge_counts_the_two_label_share():
    class Fixed:
        def predict(self, x, verbose=0):
            p = np.full((len(x), 10), 0.01)
            p[:, 3], p[:, 5] = 0.5, 0.42
            return p

    m = Muddled(np.zeros((4, 28, 28)), np.array([3, 3, 5, 3]), np.array([5, 8, 3, 5]),
                np.zeros((4, 28, 28)), np.zeros((4, 28, 28)), np.full(4, 0.5))
    scores = judge(Fixed(), m)
    assert scores["two_label_share"] == 0.75 and scores["mean_top_confidence_muddled"] == pytest.approx(0.5)


def test_the_muddle_command_meets_the_course_goals(tmp_path, capsys):
    out = tmp_path / "muddled.npz"
    main(["muddle", "--digit", "3", "--n", "200", "--seed", "5", "--out", str(out)])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["mean_top_confidence_original"] >= 0.95
    assert result["mean_top_confidence_muddled"] <= 0.70
    assert result["two_label_share"] >= 0.60
    with np.load(out) as f:
        assert f["images"].shape == (200, 28, 28) and (f["source"] == 3).all() and (f["partner"] != 3).all()
    with pytest.raises(SystemExit, match=".npz"):
        main(["muddle", "--digit", "3", "--n", "2", "--seed", "5", "--out", str(tmp_path / "x.txt")])


def test_decode_path_runs_from_l1_to_l2():
    from mnistsum.autoencoder import decode_path

    l1, l2 = np.zeros((3, 784)), np.ones((3, 784))
    path = decode_path(_Decoder(), l1, l2, np.linspace(0, 1, 5))
    assert path.shape == (5, 3, 28, 28)
    assert (path[0] == 0).all() and (path[-1] == 1).all() and np.allclose(path[2], 0.5)


def test_quick_training_is_tiny_and_the_explorer_reacts(monkeypatch):
    from mnistsum.autoencoder import shipped_muddler, train_autoencoder
    from mnistsum.data import load_mnist
    from mnistsum.widgets import muddle_explorer

    monkeypatch.setenv("MNISTSUM_QUICK", "1")
    model, history = train_autoencoder(verbose=0)
    assert len(history["loss"]) == 1 and model.output.shape == (None, 28, 28, 1)

    encoder, decoder, classifier, means = shipped_muddler()
    (_, _), (digits, labels) = load_mnist()
    widget = muddle_explorer(digits, labels, encoder, decoder, classifier, means, steps=5)
    digit, example, t = widget.children[0].children
    assert t.max == 4 and digit.value == 3
    digit.value, example.value, t.value = 8, 7, 0  # each change redraws; nothing may raise


def test_the_command_line_offers_every_method_and_the_course_default():
    from mnistsum.autoencoder import METHODS, TRIES
    from mnistsum.cli import MUDDLE_METHODS, build_parser

    assert MUDDLE_METHODS == METHODS
    args = build_parser().parse_args(["muddle", "--digit", "3", "--n", "2", "--seed", "0", "--out", "x.npz"])
    assert args.tries == TRIES and args.method == "balanced"


def test_the_proposed_criterion_prefers_the_ends_of_a_blend():
    """Why 'equidistant' exists: along a pixel blend, mse(o, a) + mse(o, b) is largest at the ends."""
    rng = np.random.default_rng(0)
    a, b = rng.random((28, 28)), rng.random((28, 28))
    t = np.linspace(0, 1, 21)[:, None, None]
    blend = (1 - t) * a + t * b
    to_a, to_b = ((blend - a) ** 2).mean(axis=(1, 2)), ((blend - b) ** 2).mean(axis=(1, 2))
    assert (to_a + to_b).argmax() in (0, 20) and np.minimum(to_a, to_b).argmax() == 10


def test_more_tries_keep_the_first_partner_and_never_do_worse():
    """tries=1 is the method as described; more partners can only find a more torn point."""
    from mnistsum.autoencoder import shipped_muddler
    from mnistsum.data import load_mnist

    encoder, decoder, classifier, means = shipped_muddler()
    (_, _), (digits, labels) = load_mnist()
    one = muddle(encoder, decoder, digits, labels, means, 5, 24, seed=2, method="balanced", classifier=classifier)
    five = muddle(encoder, decoder, digits, labels, means, 5, 24, seed=2, method="balanced", classifier=classifier,
                  tries=5)
    np.testing.assert_array_equal(one.originals, five.originals)
    np.testing.assert_array_equal(one.partner, five.partner)

    def torn(m):  # |p(source) - p(partner)| of each muddled digit, where the pair is on top
        p = classifier.predict(m.images[..., None], verbose=0)
        gap = np.abs(p[np.arange(24), m.source] - p[np.arange(24), m.partner])
        return np.where((np.sort(np.argsort(p, 1)[:, -2:], 1) == np.sort(np.stack([m.source, m.partner], 1), 1)).all(1),
                        gap, np.inf)
    assert (torn(five) <= torn(one) + 1e-6).all()
    with pytest.raises(ValueError, match="tries"):
        muddle(encoder, decoder, digits, labels, means, 5, 2, seed=2, method="balanced", classifier=classifier, tries=0)


def test_the_detector_gives_a_second_opinion_on_single_digits():
    from mnistsum.data import load_mnist
    from mnistsum.detector import WindowClassifier
    from mnistsum.zoo import load_shipped_detector

    (_, _), (digits, labels) = load_mnist()
    window = WindowClassifier(load_shipped_detector())
    p = window.predict(digits[:300])
    assert p.shape == (300, 10) and np.allclose(p.sum(1), 1)
    assert (p.argmax(1) == labels[:300]).mean() >= 0.97  # measured: 98.95% on 2,000 test digits
    np.testing.assert_array_equal(p, window.predict(digits[:300] / 255.0))  # uint8 or [0, 1], same noise
