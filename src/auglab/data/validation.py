"""``data.val_size``: a validation set of a chosen size, not the dataset's fixed split.

Selecting augmentation strength on E1's 5,000 validation images while training on 100
is not something a researcher who has 100 labelled images can do. Three settings:

- null (and MNIST's ``5000``): the dataset's own split, as before the key existed (E1's
  tail ``train[55000:60000]``, or a stratified ``val_fraction`` of train).
- a count ``N``: a class-stratified draw of N images from the whole train split, seeded by
  the split seed; the training pool is the rest.
- a fraction ``f`` in (0, 1): "what a researcher with ``data.size`` images holds out". The
  training subset is drawn exactly as without it, then a class-stratified share ``f`` of
  it (at least one image of each class on both sides) validates and the rest trains,
  drawn with ``data.subset_seed`` (or the training ``seed`` without one).

A drawn count is seeded by ``data.split_seed``; null follows ``seed`` as ``val_fraction``
does, except on MNIST, where it is 0: E1's split is the same for every seed too.
"""

from __future__ import annotations

import numbers

import numpy as np

from auglab.errors import ConfigError


def check_val_size(
    val_size: object, default: int | None = None, val_from_test: bool = False
) -> int | float | None:
    """A count (whole number >= 1), a fraction strictly between 0 and 1, or None for the
    dataset's own split, which the dataset's ``default`` count means too."""
    if val_size is None or (type(val_size) is int and val_size == default):
        return None
    if isinstance(val_size, numbers.Integral) and not isinstance(val_size, bool) and val_size >= 1:
        value: int | float = int(val_size)
    elif (
        isinstance(val_size, numbers.Real)
        and not isinstance(val_size, bool | numbers.Integral)
        and 0 < val_size < 1
    ):
        value = float(val_size)
    else:
        raise ConfigError(
            f"data.val_size={val_size!r} must be a whole number >= 1 (validation images drawn "
            "from train, such as data.val_size=1000), a fraction in (0, 1) of the training "
            "subset held out (such as data.val_size=0.2), or null for the dataset's own split"
        )
    if val_from_test:
        raise ConfigError(
            f"data.val_size={value} draws a validation set from train, but "
            "data.val_from_test=true validates on the test set: use data.val_size=null, "
            "or data.val_from_test=false"
        )
    return value


def allocate(counts: np.ndarray, total: int, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``total`` split over classes in proportion to ``counts`` (largest remainders first),
    each share kept within ``[low, high]``; the caller makes sure that is possible."""
    ideal = counts * total / counts.sum()
    quota = np.clip(np.floor(ideal).astype(np.int64), low, high)
    while quota.sum() != total:
        gap = ideal - quota
        if quota.sum() < total:
            room = np.flatnonzero(quota < high)
            quota[room[np.argmax(gap[room])]] += 1
        else:
            room = np.flatnonzero(quota > low)
            quota[room[np.argmin(gap[room])]] -= 1
    return quota


def _draw(labels: np.ndarray, quota: np.ndarray, seed: int) -> np.ndarray:
    """``quota[i]`` positions of the i-th class (ascending label), drawn by ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    picked = [
        rng.choice(np.flatnonzero(labels == c), size=q, replace=False)
        for c, q in zip(np.unique(labels), quota, strict=True)
    ]
    return np.sort(np.concatenate(picked))


def draw_count(labels: np.ndarray, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training pool, validation) indices: ``count`` images stratified by class, each class
    keeping at least one image to train on."""
    classes, counts = np.unique(labels, return_counts=True)
    most = len(labels) - len(classes)
    if count > most:
        raise ConfigError(
            f"data.val_size={count} leaves too few images to train on: the train split holds "
            f"{len(labels)} images of {len(classes)} classes; use data.val_size<={most} "
            "(every class keeps one training image)"
        )
    low = np.full(len(classes), 1 if count >= len(classes) else 0)
    val = _draw(labels, allocate(counts, count, low, counts - 1), seed)
    return np.setdiff1d(np.arange(len(labels)), val), val


def min_subset(fraction: float, classes: int) -> int:
    """The fewest subset images for which ``fraction`` of them (rounded) validates and the
    rest trains with at least one image of each of ``classes`` on both sides."""
    size = max(2 * classes, int((classes - 1) / fraction), int((classes - 1) / (1 - fraction)))
    while not classes <= round(size * fraction) <= size - classes:
        size += 1
    return size


def hold_out(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training, validation) positions in a training subset with these ``labels``: the
    rounded share ``fraction`` validates, stratified by class, every class on both sides."""
    classes, counts = np.unique(labels, return_counts=True)
    size, held = len(labels), round(len(labels) * fraction)
    if counts.min() < 2:
        raise ConfigError(
            f"data.val_size={fraction} needs two images of every class in the training subset, "
            f"but class {classes[np.argmin(counts)]} has {counts.min()} of its {size}: use a "
            "larger data.size, or data.subset_seed=0 for a class-balanced draw"
        )
    if not len(classes) <= held <= size - len(classes):
        side = "validation" if held < len(classes) else "training"
        raise ConfigError(
            f"data.val_size={fraction} of {size} training images leaves a class with no "
            f"{side} image ({held} validate, {size - held} train, {len(classes)} classes): "
            f"use data.size>={min_subset(fraction, len(classes))} or another data.val_size"
        )
    ones = np.ones(len(classes), dtype=np.int64)
    val = _draw(labels, allocate(counts, held, ones, counts - 1), seed)
    return np.setdiff1d(np.arange(size), val), val
