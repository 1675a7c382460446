"""Matplotlib figures the notebooks and the README share."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from mnistsum.generator import PATCH, CanvasBatch
from mnistsum.paths import repo_root
from mnistsum.quick import is_quick


def show_canvas(image: np.ndarray, boxes=None, digits=None, clutter_boxes=None, title: str | None = None,
                ax=None):
    """One canvas with its digit boxes (green, labelled) and clutter boxes (orange, dashed)."""
    ax = ax or plt.gca()
    ax.imshow(np.squeeze(image), cmap="gray", vmin=0, vmax=1)
    for x0, y0, x1, y1 in (b for b in (clutter_boxes if clutter_boxes is not None else []) if b[0] >= 0):
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="orange", ls="--", lw=1))
    for k, box in enumerate(boxes if boxes is not None else []):
        if box[0] < 0:
            continue
        x0, y0, x1, y1 = box
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="lime", lw=1.5))
        if digits is not None:
            ax.text(x0, y0 - 1, str(digits[k]), color="lime", fontsize=9, va="bottom", weight="bold")
    ax.set_title(title or "")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def show_batch(batch: CanvasBatch, n: int = 8, cols: int = 4, predictions=None, annotate: bool = True):
    """A grid of canvases titled with their sums (and predictions, if given)."""
    n = min(n, len(batch))
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3.2 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        title = f"sum = {batch.sums[i]}"
        if predictions is not None:
            title += f", predicted {float(np.ravel(predictions)[i]):.1f}"
        show_canvas(batch.images[i], batch.boxes[i] if annotate else None, batch.digits[i],
                    batch.clutter_boxes[i] if annotate else None, title, ax)
    fig.tight_layout()
    return fig


def image_grid(images: np.ndarray, labels=None, cols: int = 10, size: float = 1.2, names=None,
               titles: list[str] | None = None, cmap: str = "gray"):
    """Small images in a grid, titled with their labels (or class names), or with ``titles`` as given."""
    if titles is None and labels is not None:
        titles = [names[int(label)] if names else str(int(label)) for label in labels]
    lines = max((t.count("\n") + 1 for t in titles), default=1) if titles else 1
    rows = max(1, -(-len(images) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows * (1 + 0.15 * lines)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            ax.imshow(images[i], cmap=cmap)
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    fig.tight_layout()
    return fig


def show_misread(misread, images: np.ndarray, n: int = 27, cols: int = 9, size: float = 1.45):
    """The first ``n`` digits of a :class:`~mnistsum.analysis.MisreadDigits`, from ``images`` (the MNIST array
    their ids index), each titled with its id, its label, what was read and how often:
    ``read 4 · 5/5`` is a digit read as 4 all five times it appeared."""
    shown = range(min(n, len(misread)))
    titles = [f"#{misread.ids[i]}: a {misread.labels[i]}\nread {misread.read[i]} · "
              f"{misread.wrong[i]}/{misread.seen[i]}" for i in shown]
    return image_grid(images[misread.ids[: len(shown)]], cols=cols, size=size, titles=titles, cmap="gray_r")


def plot_history(history: dict[str, list[float]], metrics=("loss", "sum_accuracy"), log: bool = False):
    """Training and validation curves, one panel per metric (``log``: a log scale for the loss).

    When the history has a ``phase`` per epoch (a curriculum, or stages of training), a dotted
    line marks where each new phase began.
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False)
    starts = np.flatnonzero(np.diff(history.get("phase", []))) + 1.5
    for ax, metric in zip(axes.flat, metrics):
        epochs = np.arange(1, len(history[metric]) + 1)
        ax.plot(epochs, history[metric], "o-", label="train")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], "s-", label="validation")
        for start in starts:
            ax.axvline(start, color="grey", linestyle=":")
        if log and "loss" in metric:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def plot_accuracy_by(values, hits, xlabel: str, ax=None):
    """Bar chart of sum accuracy per value of ``values`` (with counts on the bars)."""
    from mnistsum.analysis import accuracy_by

    keys, accuracy, counts = accuracy_by(values, hits)
    ax = ax or plt.gca()
    ax.bar(keys, accuracy, color="tab:blue")
    for k, a, c in zip(keys, accuracy, counts):
        ax.text(k, a, f"{c}", ha="center", va="bottom", fontsize=7, rotation=90)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("sum accuracy")
    ax.set_ylim(0, 1.1)
    return ax


def plot_confusion(matrix: np.ndarray, ax=None, title: str = "", log: bool = True):
    """A confusion matrix as a heat map with its counts (log colour scale: the mistakes stay visible)."""
    from matplotlib.colors import LogNorm

    matrix = np.asarray(matrix)
    ax = ax or plt.gca()
    ax.imshow(matrix + 1 if log else matrix, cmap="Blues", norm=LogNorm() if log else None)
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=6,
                    color="white" if i == j else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_xticks(range(len(matrix)))
    ax.set_yticks(range(len(matrix)))
    ax.set_title(title)
    return ax


def plot_roc(curves: dict, ax=None, title: str = "", zoom: float | None = None):
    """One-vs-rest ROC curves ``{class: (fpr, tpr, auc)}``; ``zoom`` limits the false-positive axis."""
    ax = ax or plt.gca()
    for c, (fpr, tpr, area) in curves.items():
        ax.plot(fpr, tpr, lw=1, label=f"{c}: AUC {area:.5f}")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    if zoom:
        ax.set_xlim(0, zoom)
        ax.set_ylim(1 - 10 * zoom, 1.0005)
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    ax.set_title(title)
    return ax


def show_detections(image: np.ndarray, boxes, digits, found_boxes, found_digits, ax=None, title: str = ""):
    """A canvas with the true digits (green, label above) and the detections (red, label below)."""
    ax = show_canvas(image, boxes, digits, ax=ax, title=title)
    for (x0, y0, x1, y1), d in zip(found_boxes, found_digits):
        if d < 0:
            continue
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="red", lw=1, ls=":"))
        ax.text(x0, y1 + 1, str(d), color="red", fontsize=9, va="top", weight="bold")
    return ax


def show_value_map(image: np.ndarray, probabilities: np.ndarray, boxes=None, digits=None, ax=None, title: str = "",
                   cell: int = 1):
    """A canvas under a value map's expected value per window or cell (colour), drawn where each one reads.

    ``probabilities`` is one canvas's ``(G, G, 10)`` output of :func:`mnistsum.value_map.value_probabilities`:
    windows :data:`mnistsum.grid.STRIDE` pixels apart, each the centre of a 28×28 window (``cell=1``), or
    cells of ``cell × cell`` windows, each drawn over the centres of its windows.
    """
    from mnistsum.grid import STRIDE
    from mnistsum.value_map import expected_values

    ax = show_canvas(image, boxes, digits, ax=ax, title=title)
    values = expected_values(probabilities)
    step = STRIDE * cell
    start = PATCH // 2 - 0.5 - STRIDE / 2  # where the first window's share of the canvas begins, in pixels
    extent = (start, start + step * values.shape[1], start + step * values.shape[0], start)
    shown = ax.imshow(np.ma.masked_less(values, 0.05), cmap="autumn", alpha=0.75, vmin=0, vmax=9, extent=extent)
    ax.set_xlim(-0.5, image.shape[1] - 0.5)
    ax.set_ylim(image.shape[0] - 0.5, -0.5)
    return shown


def plot_value_per_digit(values: np.ndarray, digits: np.ndarray, ax=None):
    """Box plots of the value a map gave each digit (:func:`mnistsum.value_map.value_per_digit`), by true
    digit, with the line where value = digit."""
    ax = ax or plt.gca()
    present = np.asarray(digits) >= 0
    values, digits = np.asarray(values)[present], np.asarray(digits)[present]
    ax.boxplot([values[digits == d] for d in range(10)], positions=range(10), widths=0.6, whis=(1, 99),
               flierprops={"markersize": 2})
    ax.plot([-0.5, 9.5], [-0.5, 9.5], color="tab:green", lw=1, label="value = digit")
    ax.set_xlabel("true digit")
    ax.set_ylabel("value the map gives it")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    return ax


def plot_comparison(records: list[dict], ax=None):
    """Bar chart of the recorded models' sum accuracy (from ``results/*.json``), with the numbers."""
    ax = ax or plt.gca()
    names = [r["model"] for r in records]
    accuracy = [100 * r["sum_accuracy"] for r in records]
    bars = ax.barh(names, accuracy, color="tab:blue")
    for bar, a, r in zip(bars, accuracy, records):
        ax.text(a + 1, bar.get_y() + bar.get_height() / 2, f"{a:.2f}%  ({r['params']:,} params)",
                va="center", fontsize=8)
    ax.set_xlim(0, 130)
    ax.set_xlabel(f"sum accuracy on the benchmark set (%), n = {records[0]['benchmark']['n']:,}" if records else "")
    return ax


def save_figure(fig, name: str) -> Path | None:
    """Save ``fig`` as ``images/<name>.png`` of the repository (for the README).

    Quick mode saves nothing: its figures come from toy budgets and must never
    replace the README's.
    """
    if is_quick():
        return None
    directory = (repo_root() or Path.cwd()) / "images"
    directory.mkdir(exist_ok=True)
    path = directory / f"{name}.png"
    fig.savefig(path, dpi=90, bbox_inches="tight")
    return path


def plot_latent_2d(points: np.ndarray, labels: np.ndarray, means: np.ndarray | None = None, ax=None):
    """Scatter of 2-D projected latent vectors coloured by class, with the class means as numbers."""
    ax = ax or plt.gca()
    scatter = ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=3, alpha=0.5, vmin=-0.5, vmax=9.5)
    if means is not None:
        for c, (mx, my) in enumerate(means):
            ax.text(mx, my, str(c), fontsize=14, weight="bold", ha="center", va="center",
                    bbox={"boxstyle": "circle", "fc": "white", "alpha": 0.8})
    plt.colorbar(scatter, ax=ax, ticks=range(10), label="digit")
    return ax


def plot_path(path: np.ndarray, probabilities: np.ndarray, source: int, partner: int, ts: np.ndarray, marks=()):
    """Decoded images along a latent path (top) and the classifier's p(source), p(partner) (bottom).

    ``marks``: ``(label, index)`` pairs of chosen points to draw as vertical lines.
    """
    fig = plt.figure(figsize=(12, 4))
    grid = fig.add_gridspec(2, len(path), height_ratios=[1, 1.6])
    for i, image in enumerate(path):
        ax = fig.add_subplot(grid[0, i])
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{ts[i]:.2f}", fontsize=7)
        ax.axis("off")
    ax = fig.add_subplot(grid[1, :])
    ax.plot(ts, probabilities[:, source], "o-", label=f"p({source}) (source)")
    ax.plot(ts, probabilities[:, partner], "s-", label=f"p({partner}) (partner)")
    ax.plot(ts, 1 - probabilities[:, source] - probabilities[:, partner], ":", c="0.5", label="any other digit")
    for k, (label, index) in enumerate(marks):
        ax.axvline(ts[index], color=f"C{k + 2}", ls="--", label=label)
    ax.set_xlabel("t: 0 = digit a, 1 = digit b")
    ax.set_ylabel("probability")
    ax.set_xlim(ts[0] - 0.02, ts[-1] + 0.02)
    ax.legend(fontsize=8, loc="center right")
    return fig


def plot_stress(result, axes=None):
    """Left: sum accuracy against the share of muddled digits, per model. Right: mean confidence on the
    canvases each model got right and wrong (models that give one)."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 4))
    x = 100 * result.muddled_digits
    for k, (name, accuracy) in enumerate(result.accuracy.items()):
        axes[0].plot(x, 100 * accuracy, "o-", color=f"C{k}", label=name)
    axes[0].set_ylabel("sum accuracy (%)")
    axes[0].set_ylim(0, 100)
    for k, name in enumerate(result.accuracy):
        if name in result.confidence:
            axes[1].plot(x, result.confidence_right[name], "o-", color=f"C{k}", label=f"{name}: right")
            axes[1].plot(x, result.confidence_wrong[name], "x--", color=f"C{k}", label=f"{name}: wrong")
    axes[1].set_ylabel("mean confidence")
    axes[1].set_ylim(0, 1.02)
    for ax, title in zip(axes, ("sum accuracy", "how sure the model is of its sum")):
        ax.set_xlabel(f"muddled digits (% of all digits; {result.n:,} canvases per point)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return axes


def plot_readings(readings: np.ndarray, offsets, true_sum: int, ax=None):
    """One canvas's sum distributions read at each of ``offsets`` (``(K, S)``, from
    :func:`mnistsum.shifts.sum_distributions`), with their normalised product and the true sum."""
    from mnistsum.shifts import GeometricMean

    ax = ax or plt.gca()
    readings = np.asarray(readings, np.float32)
    sums = np.arange(readings.shape[1])
    for offset, p in zip(offsets, readings):
        ax.plot(sums, p, marker=".", lw=1, label=f"read at +{offset} px: {p.argmax()}")
    product = np.asarray(GeometricMean()([p[None] for p in readings]))[0]
    ax.bar(sums, product, color="0.7", label=f"product: {product.argmax()}")
    ax.axvline(true_sum, color="tab:green", ls="--", label=f"true sum: {true_sum}")
    ax.set_xlabel("sum")
    # sums are whole numbers, however far one zooms in
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_ylabel("probability")
    ax.legend(fontsize=8)
    return ax
