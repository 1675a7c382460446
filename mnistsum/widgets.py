"""ipywidgets explorers used in the notebooks."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

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
