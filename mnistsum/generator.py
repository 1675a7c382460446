"""The cluttered-canvas generator: a vectorised, seeded numpy core.

Per image, following the reference recipe:

1. try to place ``max_digits`` MNIST digits (28×28), each at up to
   ``digit_attempts`` random positions; a position is accepted only if the patch
   overlaps no patch already placed;
2. then try ``max_clutter`` Fashion-MNIST patches, ``clutter_attempts`` positions
   each, under the same rule;
3. scale pixels to [0, 1], multiply by ``ink`` (0.8) and add uniform noise
   U(0, ``noise``) (0.2);
4. the label is the sum of the digits that were placed.

Unlike the reference, every sample draws from its own random stream (SFC64)
seeded from ``(seed, index)`` alone, so sample *i* is byte-identical whatever
the batch size, order or number of workers; and the ``val`` split uses MNIST
training digits that the ``train`` split never sees. The noise is drawn as
16-bit integers: U(0, noise) on 65 536 levels, far finer than the 0.8/255 step
of the digits' own pixels.

>>> batch = generate(CanvasConfig(split="test"), seed=0, indices=range(4))
>>> batch.images.shape, batch.images.dtype
((4, 128, 128, 1), dtype('float32'))
>>> bool((batch.sums == np.where(batch.digits >= 0, batch.digits, 0).sum(1)).all())
True
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from mnistsum.data import load_fashion_mnist, load_mnist

PATCH = 28
SPLITS = ("train", "val", "test")
#: MNIST training digits [0, 50 000) feed ``train``; [50 000, 60 000) feed ``val``.
MNIST_VAL_START = 50_000
_CHUNK = 128  # samples generated together (see generate)
_DISCARD = 12  # outputs dropped after seeding each SFC64 stream, as numpy does


@dataclass(frozen=True)
class CanvasConfig:
    """Everything that defines the canvas distribution. Defaults = the reference.

    ``variable_digits=True`` makes each image attempt a uniform number of digits
    in ``0..max_digits`` instead of always ``max_digits``.

    ``muddled_share`` is the chance that a digit is drawn from the pools'
    *muddled* digits (notebook 10) instead of MNIST; its label stays the digit it
    was made from. It needs pools made by :func:`with_muddled`. The choice uses
    draws of its own, taken after everything else, so a canvas keeps its
    positions, clutter and noise whatever the share, and the digits muddled at
    a share are also muddled at any larger one.
    """

    canvas_size: int = 128
    max_digits: int = 5
    digit_attempts: int = 20
    max_clutter: int = 10
    clutter_attempts: int = 10
    ink: float = 0.8
    noise: float = 0.2
    split: str = "train"
    variable_digits: bool = False
    muddled_share: float = 0.0

    def __post_init__(self) -> None:
        def need_int(field: str, low: int, high: int, why: str = "") -> None:
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
                raise ValueError(f"CanvasConfig.{field}={value!r} is invalid: it must be an integer in [{low}, {high}]{why}.")

        need_int("canvas_size", PATCH, 2048, f" (at least the {PATCH}-pixel patch)")
        need_int("max_digits", 0, 64)
        need_int("max_clutter", 0, 256)
        need_int("digit_attempts", 1, 1000)
        need_int("clutter_attempts", 1, 1000)
        for field in ("ink", "noise", "muddled_share"):
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"CanvasConfig.{field}={value!r} is invalid: it must be a number in [0, 1].")
        if self.ink + self.noise > 1.0:
            raise ValueError(
                f"CanvasConfig.ink + noise = {self.ink + self.noise:g} is invalid: it must be at most 1 "
                "so that pixels stay in [0, 1]."
            )
        if self.split not in SPLITS:
            raise ValueError(f"CanvasConfig.split={self.split!r} is invalid: it must be one of {SPLITS}.")

    @property
    def max_sum(self) -> int:
        return 9 * self.max_digits

    def replace(self, **changes) -> "CanvasConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Pools:
    """The patches one split draws from, with where they came from."""

    digits: np.ndarray  # (N, 28, 28) uint8, MNIST
    labels: np.ndarray  # (N,) uint8
    clutter: np.ndarray  # (M, 28, 28) uint8, Fashion-MNIST
    digit_source: str  # e.g. "MNIST train[50000:60000]"
    digit_ids: np.ndarray  # indices into that MNIST array
    clutter_source: str
    muddled: np.ndarray | None = None  # (K, 28, 28) uint8, muddled digits (mnistsum.stress.muddled_pools)
    muddled_labels: np.ndarray | None = None  # (K,) the digit each was made from


def with_muddled(pools: Pools, images: np.ndarray, labels: np.ndarray) -> Pools:
    """``pools`` plus a pool of muddled digits for :attr:`CanvasConfig.muddled_share`.

    ``images`` are (K, 28, 28) uint8, or floats in [0, 1] (rounded to uint8 as MNIST is);
    ``labels`` (K,) are the digits they count as.

    >>> pools = Pools(np.zeros((1, 28, 28), np.uint8), np.zeros(1, np.uint8), np.zeros((1, 28, 28), np.uint8),
    ...               "digits", np.arange(1), "clutter")
    >>> with_muddled(pools, np.full((2, 28, 28), 0.5), [3, 5]).muddled[:, 0, 0].tolist()
    [128, 128]
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 3 or images.shape[1:] != (PATCH, PATCH) or len(images) == 0:
        raise ValueError(f"muddled images must have shape (K, {PATCH}, {PATCH}) with K >= 1, got {images.shape}.")
    if images.dtype != np.uint8:
        if not np.issubdtype(images.dtype, np.floating) or images.min() < 0 or images.max() > 1:
            raise ValueError("muddled images must be uint8, or floats in [0, 1].")
        images = np.round(images * 255).astype(np.uint8)
    if labels.shape != (len(images),) or not np.isin(labels, np.arange(10)).all():
        raise ValueError(f"muddled labels must be {len(images)} digits 0-9 (one per image), got shape {labels.shape}.")
    return dataclasses.replace(pools, muddled=images, muddled_labels=labels.astype(np.uint8))


@functools.lru_cache(maxsize=None)
def load_pools(split: str) -> Pools:
    """The digit and clutter pools of ``split`` (``train``, ``val`` or ``test``)."""
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is invalid: it must be one of {SPLITS}.")
    (mx_train, my_train), (mx_test, my_test) = load_mnist()
    (fx_train, _), (fx_test, _) = load_fashion_mnist()
    if split == "test":
        ids = np.arange(len(mx_test))
        return Pools(mx_test, my_test, fx_test, "MNIST test", ids, "Fashion-MNIST test")
    ids = np.arange(0, MNIST_VAL_START) if split == "train" else np.arange(MNIST_VAL_START, len(mx_train))
    return Pools(mx_train[ids], my_train[ids], fx_train, f"MNIST train[{ids[0]}:{ids[-1] + 1}]", ids,
                 "Fashion-MNIST train")


@dataclass
class CanvasBatch:
    """Canvases with their labels and per-digit annotations.

    Boxes are ``(x0, y0, x1, y1)`` in pixels with ``x1 = x0 + 28`` exclusive.
    Digits and boxes are listed in placement order and padded with -1;
    ``muddled`` marks, in the same order, the digits drawn from the muddled pool, and
    ``digit_ids`` says which MNIST digit each one is, so that mistakes can be traced to the digits behind them.
    """

    images: np.ndarray  # (B, H, W, 1) float32 in [0, 1]
    sums: np.ndarray  # (B,) int32
    digits: np.ndarray  # (B, max_digits) int32, -1 padded
    boxes: np.ndarray  # (B, max_digits, 4) int32, -1 padded
    clutter_boxes: np.ndarray  # (B, max_clutter, 4) int32, -1 padded
    indices: np.ndarray  # (B,) int64 sample indices
    muddled: np.ndarray  # (B, max_digits) bool: drawn from the muddled pool (False where padded)
    digit_ids: np.ndarray  # (B, max_digits) int32: index in the MNIST array (Pools.digit_ids); -1 padded or muddled

    @property
    def n_digits(self) -> np.ndarray:
        return (self.digits >= 0).sum(axis=1)

    @property
    def n_clutter(self) -> np.ndarray:
        return (self.clutter_boxes[..., 0] >= 0).sum(axis=1)

    def __len__(self) -> int:
        return len(self.sums)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise ValueError(f"seed={seed!r} is invalid: it must be an integer in [0, 2**63).")
    return int(seed)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 mixer, vectorised: a bijective scrambling of uint64 values."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def sample_states(seed: int, indices: np.ndarray) -> np.ndarray:
    """The SFC64 starting state ``(a, b, c, counter)`` of each sample: ``(B, 4)`` uint64.

    It depends on ``(seed, index)`` alone, which is what makes sample *i* the
    same in any batch.
    """
    key = _splitmix64(_splitmix64(np.full(len(indices), seed, np.uint64)) ^ indices.astype(np.uint64))
    words = [_splitmix64(key + np.uint64(k)) for k in (1, 2, 3)]
    return np.stack(words + [np.ones(len(indices), np.uint64)], axis=1)


_local = threading.local()


def _bitgen() -> np.random.SFC64:
    """One reusable SFC64 per thread (its state is overwritten for every sample)."""
    if not hasattr(_local, "bitgen"):
        _local.bitgen = np.random.SFC64(0)
    return _local.bitgen


def _draw(config: CanvasConfig, seed: int, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample random draws: 32-bit ones for choices and placement, raw 64-bit ones for noise,
    then (only with a ``muddled_share``) 32-bit ones for which digits are muddled and which muddled digit.

    Each sample has its own SFC64 stream, which starts from
    :func:`sample_states` and, as numpy does after seeding, discards its first
    12 outputs.
    """
    c = config
    n_head = _head_layout(c)["clutter_pos"].stop
    n_head64, n_noise64, n_tail64 = _stream_words(c)
    raw = np.empty((len(indices), _DISCARD + n_head64 + n_noise64 + n_tail64), np.uint64)
    bitgen = _bitgen()
    for row, state in enumerate(sample_states(seed, indices)):
        bitgen.state = {"bit_generator": "SFC64", "state": {"state": state}, "has_uint32": 0, "uinteger": 0}
        raw[row] = bitgen.random_raw(raw.shape[1])
    head = raw[:, _DISCARD: _DISCARD + n_head64].view(np.uint32)[:, :n_head]
    noise_end = _DISCARD + n_head64 + n_noise64
    return head, raw[:, _DISCARD + n_head64: noise_end], raw[:, noise_end:].view(np.uint32)


def _stream_words(c: CanvasConfig) -> tuple[int, int, int]:
    """How many 64-bit words a sample draws after the discarded ones: for placement, noise, muddling."""
    n_head64 = -(-_head_layout(c)["clutter_pos"].stop // 2)  # two 32-bit draws per uint64
    n_noise64 = -(-c.canvas_size * c.canvas_size // 4)  # four 16-bit draws per uint64
    n_tail64 = c.max_digits if c.muddled_share > 0 else 0  # two 32-bit draws per digit slot
    return n_head64, n_noise64, n_tail64


def _head_layout(c: CanvasConfig) -> dict[str, slice]:
    """Where each kind of 32-bit draw sits in a sample's stream.

    Digits come before clutter, so a config that changes only the clutter
    leaves every digit (and its position) of a sample unchanged.
    """
    sizes = {"n_try": 1, "digit_pick": c.max_digits, "digit_pos": 2 * c.max_digits * c.digit_attempts,
             "clutter_pick": c.max_clutter, "clutter_pos": 2 * c.max_clutter * c.clutter_attempts}
    layout, start = {}, 0
    for name, size in sizes.items():
        layout[name] = slice(start, start + size)
        start += size
    return layout


def _below(draws: np.ndarray, n: int) -> np.ndarray:
    """Map uniform 32-bit draws to uniform integers in ``[0, n)`` (multiply-shift)."""
    return ((draws.astype(np.uint64) * np.uint64(n)) >> np.uint64(32)).astype(np.int64)


_RENDER_ROWS = 4  # images rendered together: their temporaries stay in the CPU's L2 cache


def _render(c: CanvasConfig, canvas: np.ndarray, raw_noise: np.ndarray, images: np.ndarray) -> None:
    """``images = canvas / 255 * ink + U(0, noise)``, the noise on 65 536 levels.

    Writes straight into ``images`` (float32, B×H×W), a few images at a time, with the
    casts done inside the multiplications: three passes over memory that stays in cache.
    """
    size = c.canvas_size
    noise = raw_noise.view(np.uint16)[:, : size * size].reshape(-1, size, size)
    noise_scale, ink_scale = np.float32(c.noise / 2**16), np.float32(c.ink / 255.0)
    ink = np.empty((_RENDER_ROWS, size, size), np.float32)
    for lo in range(0, len(images), _RENDER_ROWS):
        out = images[lo: lo + _RENDER_ROWS]
        np.multiply(noise[lo: lo + _RENDER_ROWS], noise_scale, out=out, dtype=np.float32)
        np.multiply(canvas[lo: lo + _RENDER_ROWS], ink_scale, out=ink[: len(out)], dtype=np.float32)
        out += ink[: len(out)]


def _place(config: CanvasConfig, raw: np.ndarray, n_try: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rejection-sample every slot for the whole batch at once.

    Slot ``s`` (digits first, then clutter) tries its candidate positions in
    order and keeps the first that overlaps none of the patches placed before.
    Returns ``positions (B, S, 2)`` as (x, y) and ``placed (B, S)``.
    """
    c = config
    batch = len(raw)
    attempts = [c.digit_attempts] * c.max_digits + [c.clutter_attempts] * c.max_clutter
    slots = len(attempts)
    layout = _head_layout(c)
    span = c.canvas_size - PATCH + 1
    cand = np.concatenate([_below(raw[:, layout["digit_pos"]], span),
                           _below(raw[:, layout["clutter_pos"]], span)], axis=1).astype(np.int16)
    cand_x, cand_y = np.ascontiguousarray(cand[:, 0::2]), np.ascontiguousarray(cand[:, 1::2])
    positions = np.zeros((batch, slots, 2), np.int32)
    placed = np.zeros((batch, slots), bool)
    # |c - p| < PATCH  <=>  c - (p - PATCH + 1), read as unsigned, < 2 * PATCH - 1. So each placed patch is
    # kept as p - PATCH + 1, slot-major, so that "clashes with any earlier patch" reduces over the outer
    # axis; empty slots sit far off the canvas. int16 holds it all (canvas_size <= 2048).
    low_x = np.full((slots, batch, 1), -4 * c.canvas_size, np.int16)
    low_y = low_x.copy()
    width = np.uint16(2 * PATCH - 1)
    rows = np.arange(batch)
    offset = 0
    for s, n_att in enumerate(attempts):
        cx, cy = cand_x[:, offset: offset + n_att], cand_y[:, offset: offset + n_att]
        offset += n_att
        if s:
            near = ((cx - low_x[:s]).view(np.uint16) < width) & ((cy - low_y[:s]).view(np.uint16) < width)
            free = ~np.logical_or.reduce(near, axis=0)
        else:
            free = np.ones((batch, n_att), bool)
        if s < c.max_digits:
            free &= (s < n_try)[:, None]
        first = free.argmax(axis=1)
        ok = free[rows, first]
        x, y = cx[rows, first][ok], cy[rows, first][ok]
        placed[:, s] = ok
        positions[ok, s, 0], positions[ok, s, 1] = x, y
        low_x[s, ok, 0], low_y[s, ok, 0] = x - (PATCH - 1), y - (PATCH - 1)
    return positions, placed


def _compact(arrays: list[np.ndarray], keep: np.ndarray) -> list[np.ndarray]:
    """Move each array's kept entries (in order) to the front of axis 1 and pad the rest with -1."""
    order = np.argsort(~keep, axis=1, kind="stable")
    kept = np.take_along_axis(keep, order, axis=1)
    out = []
    for values in arrays:
        extra = (1,) * (values.ndim - 2)
        moved = np.take_along_axis(values, order.reshape(order.shape + extra), axis=1)
        out.append(np.where(kept.reshape(kept.shape + extra), moved, -1).astype(np.int32))
    return out


def generate(config: CanvasConfig, seed: int, indices: Iterable[int], pools: Pools | None = None) -> CanvasBatch:
    """Generate the canvases with sample ``indices`` of stream ``seed``.

    Work is done ``_CHUNK`` samples at a time: enough to amortise numpy's
    per-call cost in the placement loop, few enough that its temporaries stay
    small (the pixels are rendered a few images at a time, see ``_render``).
    """
    seed = _check_seed(seed)
    indices = np.asarray(list(indices) if not isinstance(indices, np.ndarray) else indices, dtype=np.int64)
    if indices.ndim != 1 or (indices < 0).any():
        raise ValueError("indices must be a 1-D sequence of non-negative integers.")
    pools = pools if pools is not None else load_pools(config.split)
    if config.muddled_share > 0 and pools.muddled is None:
        raise ValueError(f"CanvasConfig.muddled_share={config.muddled_share:g} needs pools with muddled digits: "
                         "pass pools=mnistsum.stress.muddled_pools(...) (or generator.with_muddled(...)).")
    size = config.canvas_size
    images = np.empty((len(indices), size, size, 1), np.float32)
    parts = [
        _generate_chunk(config, seed, indices[lo: lo + _CHUNK], pools, images[lo: lo + _CHUNK, ..., 0])
        for lo in range(0, len(indices), _CHUNK)
    ] or [_generate_chunk(config, seed, indices, pools, images[..., 0])]
    sums, digits, boxes, clutter_boxes, muddled, digit_ids = (np.concatenate(column) for column in zip(*parts))
    return CanvasBatch(images, sums, digits, boxes, clutter_boxes, indices, muddled, digit_ids)


def _generate_chunk(c: CanvasConfig, seed: int, indices: np.ndarray, pools: Pools, images: np.ndarray):
    """Render ``indices`` into ``images`` (B, H, W); return sums, digits, boxes, clutter boxes, muddled, ids.

    Its stages, each a function (``python -m mnistsum bench --profile`` times them): draw the random
    numbers, place the patches, paste them, render the pixels, annotate.
    """
    raw_place, raw_noise, raw_muddle = _draw(c, seed, indices)
    layout = _head_layout(c)
    picks = (_below(raw_place[:, layout["digit_pick"]], len(pools.digits)),
             _below(raw_place[:, layout["clutter_pick"]], len(pools.clutter)))
    n_try = _below(raw_place[:, 0], c.max_digits + 1) if c.variable_digits \
        else np.full(len(indices), c.max_digits)
    positions, placed = _place(c, raw_place, n_try)
    labels = pools.labels[picks[0]].astype(np.int64)
    ids = pools.digit_ids[picks[0]].astype(np.int64)
    muddled = np.zeros(picks[0].shape, bool)
    muddle_pick = None
    if c.muddled_share > 0:
        muddled = raw_muddle[:, : c.max_digits] < np.uint64(round(c.muddled_share * 2**32))
        muddle_pick = _below(raw_muddle[:, c.max_digits: 2 * c.max_digits], len(pools.muddled))
        labels = np.where(muddled, pools.muddled_labels[muddle_pick], labels)
        ids = np.where(muddled, -1, ids)
    canvas = _paste(c, pools, picks, positions, placed, muddled, muddle_pick)
    _render(c, canvas, raw_noise, images)
    return _annotate(c, positions, placed, labels, muddled, ids)


def _paste(c: CanvasConfig, pools: Pools, picks: tuple[np.ndarray, np.ndarray], positions: np.ndarray,
           placed: np.ndarray, muddled: np.ndarray, muddle_pick: np.ndarray | None) -> np.ndarray:
    """The uint8 canvases ``(B, H, W)`` with every placed patch pasted (a muddled digit where drawn)."""
    canvas = np.zeros((len(placed), c.canvas_size, c.canvas_size), np.uint8)
    windows = np.lib.stride_tricks.sliding_window_view(canvas, (PATCH, PATCH), axis=(1, 2), writeable=True)
    for pool, pick, first in ((pools.digits, picks[0], 0), (pools.clutter, picks[1], c.max_digits)):
        b, s = np.nonzero(placed[:, first: first + pick.shape[1]])
        patches = pool[pick[b, s]]
        if first == 0 and muddle_pick is not None:
            swap = muddled[b, s]
            patches[swap] = pools.muddled[muddle_pick[b, s][swap]]
        # windows[b, y, x] is the 28x28 patch whose top-left corner is (x, y); patches never overlap
        windows[b, positions[b, first + s, 1], positions[b, first + s, 0]] = patches
    return canvas


def _annotate(c: CanvasConfig, positions: np.ndarray, placed: np.ndarray, labels: np.ndarray,
              muddled: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sums, then digits, digit boxes, clutter boxes, muddled flags and digit ids, placed ones first, -1 padded."""
    boxes = np.concatenate([positions, positions + PATCH], axis=-1)
    digit_placed = placed[:, : c.max_digits]
    digits, digit_boxes, muddled, ids = _compact([labels, boxes[:, : c.max_digits], muddled.astype(np.int64), ids],
                                                 digit_placed)
    (clutter_boxes,) = _compact([boxes[:, c.max_digits:]], placed[:, c.max_digits:])
    sums = np.where(digit_placed, labels, 0).sum(axis=1).astype(np.int32)
    return sums, digits, digit_boxes, clutter_boxes, muddled == 1, ids


def iter_batches(config: CanvasConfig, seed: int, n: int, batch_size: int = 256,
                 pools: Pools | None = None) -> Iterator[CanvasBatch]:
    """Samples ``0..n-1`` of stream ``seed`` in batches (the last may be smaller)."""
    if n < 0 or batch_size < 1:
        raise ValueError(f"need n >= 0 and batch_size >= 1, got n={n}, batch_size={batch_size}.")
    for start in range(0, n, batch_size):
        yield generate(config, seed, np.arange(start, min(start + batch_size, n)), pools)


def concat_batches(batches: Iterable[CanvasBatch]) -> CanvasBatch:
    """Join batches into one (e.g. ``concat_batches(iter_batches(...))``)."""
    batches = list(batches)
    return CanvasBatch(*(np.concatenate([getattr(b, f.name) for b in batches])
                         for f in dataclasses.fields(CanvasBatch)))
