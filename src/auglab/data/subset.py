"""Which training images a run sees: the size knob of every experiment.

``data.size`` is a count (``1000``), a fraction of the training pool left once validation
is set apart (``0.1``, resolved by ``resolve_size`` where the pool is known), or ``all``
(null). Records and the report use the resolved count, ``train_size``.

Two seeds can decide it, and they mean different things:

- ``data.subset_seed`` (null by default): given, the subset is a class-stratified draw
  seeded by it alone, whatever ``data.subset`` says, so every training ``seed`` trains on
  the same images and a sweep over both separates "which images" from "which run".
- ``data.subset=stratified`` without it draws with the training ``seed`` (``data.seed``,
  ``${seed}``): each seed then trains on other images, as before ``subset_seed`` existed.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np

from auglab.checks import check_int
from auglab.errors import ConfigError

SUBSET_MODES = ("reference", "first", "stratified")
#: ``data.size=all``: every image of the training pool, as null.
ALL = "all"


def check_size(size: object) -> int | float | None:
    """A count (whole number >= 1), a fraction of the training pool in (0, 1], or None.

    ``all`` (any case) and null mean every image of the pool; a fraction is resolved by
    ``resolve_size`` once the pool is known. A count stays an ``int``, so a sweep dir's
    fingerprints of counts are those made before fractions existed.
    """
    if size is None or (isinstance(size, str) and size.strip().lower() == ALL):
        return None
    if isinstance(size, numbers.Integral) and not isinstance(size, bool) and size >= 1:
        return int(size)
    if (
        isinstance(size, numbers.Real)
        and not isinstance(size, bool | numbers.Integral)
        and math.isfinite(size)
        and 0 < size <= 1
    ):
        return float(size)
    whole_float = isinstance(size, float) and math.isfinite(size) and size.is_integer()
    hint = f"; {size!r} is a float: write data.size={int(size)}" if whole_float and size > 1 else ""
    raise ConfigError(
        f"data.size={size!r} must be a whole number >= 1 (a count of training images, such as "
        "data.size=1000), a fraction of the training pool in (0, 1] (such as data.size=0.1), "
        f"or all (null) for every image{hint}"
    )


def resolve_size(size: int | float | None, available: int) -> int | None:
    """The count of images ``size`` means in a pool of ``available``: a fraction rounds to
    the nearest whole image (at least 1); 1.0 and None are the whole pool (None)."""
    if size is None or isinstance(size, int):
        return size
    if size >= 1:
        return None
    return max(1, round(size * available))


def check_subset_seed(subset_seed: object) -> int | None:
    """A whole number >= 0 (numpy's generators refuse negative seeds), or null."""
    return check_int(
        subset_seed,
        "data.subset_seed",
        0,
        allow_none=True,
        hint="it seeds a class-stratified draw of data.size training images, the same for "
        "every seed; null keeps data.subset's fixed slices",
    )


def check_subset_mode(mode: str) -> str:
    if mode not in SUBSET_MODES:
        raise ConfigError(f"data.subset={mode!r} is unknown: use one of {', '.join(SUBSET_MODES)}")
    return mode


def select_subset(
    labels: np.ndarray,
    size: int | None,
    mode: str = "reference",
    seed: int = 0,
    reference_slices: Mapping[int, tuple[int, int]] | None = None,
    subset_seed: int | None = None,
) -> np.ndarray:
    """Indices into the training pool (``labels``) for a run of ``size`` images.

    ``reference`` reproduces the published slices where a dataset defines them
    (E1's [550:1550] for 1,000, ...) and otherwise takes the first ``size``
    images in file order; ``first`` always takes the first ``size`` (what E1's
    synthetic-set loop really read); ``stratified`` draws a seeded, class-balanced
    sample with ``seed``. A ``subset_seed`` replaces all three by the stratified draw
    seeded with it, which depends on (subset_seed, size, labels) only.
    """
    available = len(labels)
    if size is None:
        return np.arange(available)
    if size > available:
        raise ConfigError(
            f"data.size={size} is larger than the {available} training images available: "
            f"use data.size<={available}, or data.size=null for all of them"
        )
    if subset_seed is not None:
        return _stratified(labels, size, subset_seed, f"data.subset_seed={subset_seed}")
    if check_subset_mode(mode) == "stratified":
        return _stratified(labels, size, seed, "data.subset=stratified")
    slices = reference_slices if mode == "reference" else None
    start, stop = (slices or {}).get(size, (0, size))
    return np.arange(start, stop)


def _stratified(labels: np.ndarray, size: int, seed: int, knob: str) -> np.ndarray:
    """``size`` indices, an equal share of each class, drawn by ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quota = np.full(len(classes), size // len(classes))
    # The remainder goes to randomly chosen classes, so no class is always favoured.
    quota[rng.permutation(len(classes))[: size % len(classes)]] += 1
    short = quota > counts
    if short.any():
        raise ConfigError(
            f"{knob} cannot draw {size} balanced images: class "
            f"{classes[short][0]} has only {counts[short][0]}; use a smaller data.size "
            "or data.subset=reference with data.subset_seed=null"
        )
    picked = [
        rng.choice(np.flatnonzero(labels == c), size=q, replace=False)
        for c, q in zip(classes, quota, strict=True)
    ]
    return np.sort(np.concatenate(picked))
