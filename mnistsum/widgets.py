"""ipywidgets explorers used in the notebooks."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from mnistsum.data import to_unit_floats
from mnistsum.generator import CanvasConfig, generate
from mnistsum.plots import show_canvas


def data_browser(images: np.ndarray, labels: np.ndarray, names=None) -> widgets.Widget:
    """Browse a data set by class and index."""
    classes = sorted(set(int(v) for v in np.unique(labels)))
    by_class = {c: np.flatnonzero(labels == c) for c in classes}
    cls = widgets.Dropdown(options=[(names[c] if names else str(c), c) for c in classes], description="class")
    idx = widgets.IntSlider(0, 0, 99, description="example")
    out = widgets.Output()

    def draw(*_):
        with out:
            out.clear_output(wait=True)
            chosen = by_class[cls.value][idx.value % len(by_class[cls.value])]
            fig, ax = plt.subplots(figsize=(2.5, 2.5))
            ax.imshow(images[chosen], cmap="gray")
            ax.set_title(f"#{chosen}: {names[cls.value] if names else cls.value}")
            ax.axis("off")
            plt.show()

    cls.observe(draw, "value")
    idx.observe(draw, "value")
    draw()
    return widgets.VBox([widgets.HBox([cls, idx]), out])


def canvas_explorer(split: str = "test") -> widgets.Widget:
    """Sliders for digits, clutter, noise and seed that redraw one canvas with its boxes and sum."""
    digits = widgets.IntSlider(5, 0, 5, description="max digits")
    clutter = widgets.IntSlider(10, 0, 10, description="max clutter")
    noise = widgets.FloatSlider(0.2, min=0.0, max=0.2, step=0.05, description="noise")
    seed = widgets.IntSlider(0, 0, 100, description="seed")
    out = widgets.Output()

    def draw(*_):
        config = CanvasConfig(split=split, max_digits=digits.value, max_clutter=clutter.value, noise=noise.value)
        batch = generate(config, seed.value, [0])
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(4, 4))
            show_canvas(batch.images[0], batch.boxes[0], batch.digits[0], batch.clutter_boxes[0],
                        f"sum = {batch.sums[0]}  ({batch.n_digits[0]} digits, {batch.n_clutter[0]} clutter)", ax)
            plt.show()

    for w in (digits, clutter, noise, seed):
        w.observe(draw, "value")
    draw()
    return widgets.VBox([widgets.HBox([digits, clutter]), widgets.HBox([noise, seed]), out])


def muddle_explorer(digits: np.ndarray, labels: np.ndarray, encoder, decoder, classifier, means: np.ndarray,
                    steps: int = 21) -> widgets.Widget:
    """Pick a digit and an example, then slide from it (*a*) to a digit *b* of the nearest other class,
    watching the decoded image and the classifier's probabilities change."""
    from mnistsum.autoencoder import decode_path, nearest_other_class

    x = to_unit_floats(digits)
    digit = widgets.Dropdown(options=list(range(10)), value=3, description="digit")
    example = widgets.IntSlider(0, 0, 99, description="example")
    t = widgets.IntSlider(steps // 2, 0, steps - 1, description="a → b")
    out = widgets.Output()
    state: dict = {}

    def new_pair(*_):
        a = np.flatnonzero(labels == digit.value)[example.value]
        l1 = encoder.predict(x[a][None, ..., None], verbose=0)
        partner = int(nearest_other_class(l1, np.array([digit.value]), means)[0])
        b = np.flatnonzero(labels == partner)[example.value]
        path = decode_path(decoder, l1, encoder.predict(x[b][None, ..., None], verbose=0), np.linspace(0, 1, steps))[:, 0]
        state.update(a=x[a], b=x[b], partner=partner, path=path,
                     p=classifier.predict(path[..., None], verbose=0))
        draw()

    def draw(*_):
        with out:
            out.clear_output(wait=True)
            fig, axes = plt.subplots(1, 4, figsize=(11, 2.6), gridspec_kw={"width_ratios": [1, 1, 1, 2.2]})
            for ax, image, title in zip(axes, (state["a"], state["path"][t.value], state["b"]),
                                        (f"a: {digit.value}", f"t = {t.value / (steps - 1):.2f}",
                                         f"b: {state['partner']}")):
                ax.imshow(image, cmap="gray", vmin=0, vmax=1)
                ax.set_title(title)
                ax.axis("off")
            p = state["p"][t.value]
            colours = ["tab:blue" if c == digit.value else "tab:orange" if c == state["partner"] else "0.7"
                       for c in range(10)]
            axes[3].bar(range(10), p, color=colours)
            axes[3].set_xticks(range(10))
            axes[3].set_ylim(0, 1)
            axes[3].set_title("digit classifier's probabilities")
            plt.show()

    digit.observe(new_pair, "value")
    example.observe(new_pair, "value")
    t.observe(draw, "value")
    new_pair()
    return widgets.VBox([widgets.HBox([digit, example, t]), out])
