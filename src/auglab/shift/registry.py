"""MNIST-C's 15 corruptions by name and severity: ``get``, ``suite`` and ``corrupt``.

Each ``Corruption`` is one function of ``auglab.shift.corruptions`` at one of its
severities (MNIST-C's parameters), called on a whole test set in any of the forms the
datamodules and networks hold images in (``uint8`` or [0, 1] float numpy NHWC, torch
NCHW), and giving it back in that form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np
import torch

from auglab.errors import ConfigError
from auglab.shift.blur import glass_blur, motion_blur
from auglab.shift.corruptions import (
    Draws,
    brightness,
    canny_edges,
    fog,
    impulse_noise,
    rotate,
    scale,
    shear,
    shot_noise,
    spatter,
    stripe,
    translate,
)
from auglab.shift.strokes import dotted_line, zigzag

Images = TypeVar("Images", np.ndarray, torch.Tensor)


CorruptionFn = Callable[[np.ndarray, Draws, Any], np.ndarray]


@dataclass(frozen=True)
class Corruption:
    """A named corruption at one severity; calling it corrupts a whole set of images."""

    name: str
    fn: CorruptionFn
    #: Parameters of severities 1, 2, ...; ``(None,)`` for corruptions with one level.
    levels: tuple[Any, ...]
    #: MNIST-C's severity (what ``severity=None`` means).
    default: int
    #: False for the ones that draw nothing (the seed does not matter).
    random: bool
    severity: int | None = None

    def at(self, severity: int | None) -> Corruption:
        """This corruption at ``severity`` (1..len(levels); None: MNIST-C's)."""
        if severity is not None and (
            isinstance(severity, bool)
            or not isinstance(severity, int | np.integer)
            or not 1 <= severity <= len(self.levels)
        ):
            choices = (
                "null or 1 (it has one level)"
                if len(self.levels) == 1
                else f"1-{len(self.levels)}, or null for MNIST-C's {self.default}"
            )
            raise ConfigError(f"{self.name} severity={severity!r} must be {choices}")
        return replace(self, severity=None if severity is None else int(severity))

    def __call__(
        self, images: Images, seed: int = 0, indices: Iterable[int] | None = None
    ) -> Images:
        """``images`` corrupted, same type, dtype, shape and range; ``indices``: their
        positions in the whole set (default 0..N-1), for corrupting a set in pieces."""
        level = self.levels[(self.severity or self.default) - 1]
        array, restore = _to_uint8_nhwc(images)
        idx = np.arange(len(array)) if indices is None else np.asarray(list(indices))
        if idx.shape != (len(array),):
            raise ValueError(f"{len(array)} images but {idx.size} indices")
        if not len(array):
            return restore(array.copy())
        return restore(self.fn(array, Draws.of(seed, self.name, idx), level))


def _corruption(fn: CorruptionFn, levels: tuple[Any, ...], default: int, random: bool = True):
    return Corruption(fn.__name__, fn, levels, default, random)


#: MNIST-C's 15 corruptions in its order; severity parameters from its ``corruptions.py``.
CORRUPTIONS: dict[str, Corruption] = {
    c.name: c
    for c in (
        _corruption(shot_noise, (60, 25, 12, 5, 3), 5),
        _corruption(impulse_noise, (0.03, 0.06, 0.09, 0.17, 0.27), 4),
        _corruption(glass_blur, ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)), 1),
        _corruption(motion_blur, ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15)), 1),
        _corruption(shear, (0.2, 0.4, 0.6, 0.8, 1.0), 2),
        _corruption(scale, (0.9, 0.8, 0.7, 0.6, 0.5), 3, random=False),
        _corruption(rotate, (0.2, 0.4, 0.6, 0.8, 1.0), 2),
        _corruption(brightness, (0.1, 0.2, 0.3, 0.4, 0.5), 5, random=False),
        _corruption(translate, (1, 2, 3, 4, 5), 3),
        _corruption(stripe, (None,), 1, random=False),
        _corruption(fog, ((1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)), 5),
        _corruption(
            spatter,
            # MNIST-C's (mean, std, sigma, threshold, mask sigma); its sixth (mud or not)
            # is unused by its spatter, which always draws mud.
            (
                (0.65, 0.3, 4, 0.69, 0.6),
                (0.65, 0.3, 3, 0.68, 0.6),
                (0.65, 0.3, 2, 0.68, 0.5),
                (0.65, 0.3, 1, 0.65, 1.5),
                (0.67, 0.4, 1, 0.65, 1.5),
            ),
            4,
        ),
        _corruption(dotted_line, (None,), 1),
        _corruption(zigzag, (None,), 1),
        _corruption(canny_edges, (None,), 1, random=False),
    )
}


def get(name: str) -> Corruption:
    """The corruption called ``name``; a ConfigError naming the valid ones otherwise."""
    try:
        return CORRUPTIONS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown corruption {name!r}: choose from {', '.join(CORRUPTIONS)}"
        ) from None


def suite(
    names: Iterable[str] | Mapping[str, int | None] | None = None,
) -> dict[str, Corruption]:
    """The corruptions to evaluate on, by name, in the order given (default: all 15 at
    MNIST-C's severities); a mapping gives each one's severity (None: MNIST-C's)."""
    if names is None:
        return dict(CORRUPTIONS)
    if isinstance(names, str):
        names = [names]
    severities = names if isinstance(names, Mapping) else dict.fromkeys(names)
    return {name: get(name).at(severity) for name, severity in severities.items()}


def corrupt(
    images: Images,
    name: str,
    seed: int = 0,
    severity: int | None = None,
    indices: Iterable[int] | None = None,
) -> Images:
    """``images`` with corruption ``name``: a pure function of its arguments.

    ``images``: uint8 or [0, 1] float, numpy (N, H, W, C) or torch (N, C, H, W), C 1 or 3.
    Float images are corrupted at 8 bits, as every dataset here is stored.
    """
    return get(name).at(severity)(images, seed=seed, indices=indices)


def _to_uint8_nhwc(images: Images) -> tuple[np.ndarray, Callable[[np.ndarray], Images]]:
    """(uint8 NHWC array, a function giving a result back in ``images``' own form)."""
    if isinstance(images, torch.Tensor):
        device, dtype = images.device, images.dtype
        array, restore = _to_uint8_nhwc(images.detach().cpu().permute(0, 2, 3, 1).numpy())

        def back(out: np.ndarray) -> torch.Tensor:
            nchw = torch.from_numpy(np.ascontiguousarray(restore(out).transpose(0, 3, 1, 2)))
            return nchw.to(device=device, dtype=dtype)

        return array, back
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[3] not in (1, 3):
        raise ValueError(
            "expected images (N, H, W, C) with C 1 or 3 (torch: (N, C, H, W)), "
            f"got shape {images.shape}"
        )
    if images.dtype == np.uint8:
        return np.ascontiguousarray(images), lambda out: out
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"expected uint8 or float images, got {images.dtype}")
    if images.size and (images.min() < 0 or images.max() > 1):
        raise ValueError("float images must lie in [0, 1]")
    dtype = images.dtype
    return np.rint(images * 255).astype(np.uint8), lambda out: (out / 255).astype(dtype)
