"""The plasma fractal behind the fog corruption, as MNIST-C makes it (``plasma_fractal`` of
google-research/mnist-c, after Fournier, Fussell & Carpenter's diamond-square, 1982).

Why this one: fog's strength depends on how much of the [0, 1] range a 28-pixel patch
covers. MNIST-C grows a 256-pixel map, rescales the *whole map* to [0, 1] and crops 28
pixels of it, so a patch usually spans only part of the range; a field grown to 28 pixels
and rescaled on its own spans all of it, a far denser fog (a fixed CNN read 40% of
MNIST-C's fog images right but 24% of such ones).

The algorithm: on a square map that wraps around (a torus), one anchor point (0, 0) is 0.
Each pass halves the step between known points: the centre of each square of four known
corners takes their mean plus noise (square step), then the midpoint of each edge takes
the mean of its two corners and the two centres beside it plus noise (diamond step). The
noise of a pass is ``wibble * U(-wibble, wibble)``, ``wibble`` starting at 100 and divided
by ``decay`` after each pass. Each map's noise is one draw from its own generator, used
pass by pass: the square step's field, then the diamond step's two (row-edge, then
column-edge midpoints).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def plasma_fractal(size: int, decay: float, rng: np.random.Generator) -> np.ndarray:
    """A (size, size) float64 map in [0, 1] (min 0, max 1 over the whole map); ``size`` a
    power of two; larger ``decay``: noise fades faster, smoother clouds (MNIST-C's
    ``wibbledecay``, 1.4-2)."""
    return plasma_fractals(size, decay, [rng])[0]


def plasma_fractals(size: int, decay: float, rngs: Sequence[np.random.Generator]) -> np.ndarray:
    """(len(rngs), size, size) maps, map ``i`` drawn from ``rngs[i]`` alone (one uniform
    draw of all its noise, pass by pass); the passes run on all maps at once."""
    if size < 2 or size & (size - 1):
        raise ValueError(f"plasma size must be a power of two >= 2, got {size}")
    passes = int(np.log2(size))
    counts = [3 * 4**k for k in range(passes)]  # three fields of (2^k)^2 points per pass
    noise = np.stack([rng.uniform(-1, 1, sum(counts)) for rng in rngs])
    field = np.zeros((len(rngs), size, size))
    step, wibble, used = size, 100.0, 0
    for count in counts:
        half, k = step // 2, size // step
        fields = noise[:, used : used + count].reshape(-1, 3, k, k) * wibble * wibble
        used += count
        corners = field[:, ::step, ::step]
        # Square step: each square's four corners (the map wraps, so the last square's
        # right and lower corners are the first row's and column's).
        square = corners + np.roll(corners, -1, axis=1)
        square = square + np.roll(square, -1, axis=2)
        field[:, half::step, half::step] = square / 4 + fields[:, 0]
        centres = field[:, half::step, half::step]
        # Diamond step: a midpoint on a row of corners has corners left and right and
        # centres above and below; one on a column of corners, the transpose.
        row_mid = centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=2)
        field[:, ::step, half::step] = row_mid / 4 + fields[:, 1]
        col_mid = centres + np.roll(centres, 1, axis=2) + corners + np.roll(corners, -1, axis=1)
        field[:, half::step, ::step] = col_mid / 4 + fields[:, 2]
        step, wibble = half, wibble / decay
    field -= field.min(axis=(1, 2), keepdims=True)
    return field / field.max(axis=(1, 2), keepdims=True)
