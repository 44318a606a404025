"""MNIST-C's two blurs, motion and glass, written out in numpy to follow its algorithm.

Why not a library's: MNIST-C's motion blur is ImageMagick's ``MotionBlurImage`` (through
wand), a one-sided *Gaussian* streak, where albumentations' ``MotionBlur`` is a uniform
line, and its glass blur blurs grey images along columns only (skimage's ``gaussian``
with ``multichannel=True`` takes a 2-D image's last axis for channels) and swaps each
pixel with probability 1/2, where albumentations blurs both ways and swaps every pixel.
A fixed CNN scored 88.3% on MNIST-C's motion-blurred test set and 78.8% on the uniform
streak's (docs/mnist_c_fidelity.md).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import gaussian_filter1d

from auglab.shift.corruptions import Draws, scale_of

#: Images per chunk of the vectorised loops (bounds the index arrays' memory).
_CHUNK = 512


def motion_kernel(radius: float, sigma: float, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """ImageMagick's motion-blur taps: (weights (K,), (dy, dx) offsets (K, 2)).

    As ``MotionBlurImage`` (ImageMagick 6 and 7, effect.c): ``K = 2 ceil(radius) + 1``
    taps ``exp(-i^2 / 2 sigma^2)``, normalised, ``i = 0..K-1``; tap ``i`` reads the pixel
    ``i`` pixels along ``degrees`` (x right, y down), each offset rounded half down. So a
    pixel gathers from one side only: the streak trails the other way.
    """
    taps = np.arange(2 * math.ceil(radius) + 1 if radius > 0 else 3 * math.ceil(sigma) + 1)
    weights = np.exp(-(taps**2) / (2 * sigma * sigma))
    angle = math.radians(degrees)
    dx = np.ceil(taps * math.cos(angle) - 0.5)
    dy = np.ceil(taps * math.sin(angle) - 0.5)
    return weights / weights.sum(), np.stack([dy, dx], 1).astype(np.int64)


def motion_blur(images: np.ndarray, draws: Draws, c: tuple[float, float]) -> np.ndarray:
    """ImageMagick's motion blur of radius ``c[0]``, sigma ``c[1]`` (28ths of the image) at
    a random angle in [-45, 45] degrees; edge pixels repeat beyond the border (ImageMagick's
    default virtual pixels). Matches wand's output to 1 grey level (rounding)."""
    s = scale_of(images)
    angles = -45 + 90 * draws.uniform(1)[:, 0]
    n, h, w, _ = images.shape
    out = np.empty_like(images)
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    for start in range(0, n, _CHUNK):
        part = slice(start, min(n, start + _CHUNK))
        taps = [motion_kernel(c[0] * s, c[1] * s, a) for a in angles[part]]
        weights = np.stack([t[0] for t in taps])  # (n', K)
        offsets = np.stack([t[1] for t in taps])  # (n', K, 2)
        which = np.arange(part.stop - part.start)[:, None, None]
        x = images[part].astype(np.float64)
        total = np.zeros(x.shape)
        for k in range(weights.shape[1]):
            y = np.clip(rows[None] + offsets[:, k, 0, None, None], 0, h - 1)
            z = np.clip(cols[None] + offsets[:, k, 1, None, None], 0, w - 1)
            total += weights[:, k, None, None, None] * x[which, y, z]
        out[part] = np.rint(np.clip(total, 0, 255))
    return out


def glass_blur(images: np.ndarray, draws: Draws, c: tuple[float, int, int]) -> np.ndarray:
    """MNIST-C's glass blur: blur down the columns (sigma ``c[0]``), truncate to 8 bits,
    then ``c[2]`` times visit pixels from the bottom right up, rows ``H - d .. d + 1`` and
    columns likewise (``d = c[1]``), swapping each with probability 1/2 with the pixel
    ``(dy, dx)`` away, each in ``[-d, d)``; blur down the columns again."""
    s = scale_of(images)
    sigma, delta = c[0] * s, max(1, round(c[1] * s))
    x = gaussian_filter1d(images / 255.0, sigma, axis=1, mode="nearest", truncate=4.0)
    x = (x * 255).astype(np.uint8)  # as MNIST-C's np.uint8: truncated
    n, h, w, _ = x.shape
    visits = [
        (i, j)
        for _ in range(c[2])
        for i in range(h - delta, delta, -1)
        for j in range(w - delta, delta, -1)
    ]
    chunk_size = max(1, min(_CHUNK, 2_000_000 // len(visits)))  # bounds the draws' memory
    for start in range(0, n, chunk_size):
        part = slice(start, min(n, start + chunk_size))
        chunk = x[part]
        rngs = [np.random.default_rng(int(seed)) for seed in draws.seeds[part]]
        swap = np.stack([rng.random(len(visits)) < 0.5 for rng in rngs], 1)
        moves = np.stack([rng.integers(-delta, delta, (len(visits), 2)) for rng in rngs], 1)
        for t, (i, j) in enumerate(visits):
            who = np.flatnonzero(swap[t])
            i2, j2 = i + moves[t, who, 0], j + moves[t, who, 1]
            here, there = chunk[who, i, j], chunk[who, i2, j2]  # copies
            chunk[who, i, j], chunk[who, i2, j2] = there, here
    x = gaussian_filter1d(x / 255.0, sigma, axis=1, mode="nearest", truncate=4.0)
    return np.rint(np.clip(x, 0, 1) * 255).astype(np.uint8)
