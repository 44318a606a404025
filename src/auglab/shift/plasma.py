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
by ``decay`` after each pass. Draws come from the generator passed in: per pass the square
step's field, then the diamond step's two (row-edge, then column-edge midpoints).
"""

from __future__ import annotations

import numpy as np


def plasma_fractal(size: int, decay: float, rng: np.random.Generator) -> np.ndarray:
    """A (size, size) float64 map in [0, 1] (min 0, max 1 over the whole map); ``size`` a
    power of two; larger ``decay``: noise fades faster, smoother clouds (MNIST-C's
    ``wibbledecay``, 1.4-2)."""
    if size < 2 or size & (size - 1):
        raise ValueError(f"plasma size must be a power of two >= 2, got {size}")
    field = np.zeros((size, size))
    step, wibble = size, 100.0
    while step >= 2:
        half = step // 2
        corners = field[::step, ::step]
        # Square step: each square's four corners (the map wraps, so the last square's
        # right and lower corners are the first row's and column's).
        square = corners + np.roll(corners, -1, axis=0)
        square = square + np.roll(square, -1, axis=1)
        field[half::step, half::step] = square / 4 + _noise(rng, wibble, corners.shape)
        centres = field[half::step, half::step]
        # Diamond step: a midpoint on a row of corners has corners left and right and
        # centres above and below; one on a column of corners, the transpose.
        row_mid = centres + np.roll(centres, 1, axis=0) + corners + np.roll(corners, -1, axis=1)
        field[::step, half::step] = row_mid / 4 + _noise(rng, wibble, corners.shape)
        col_mid = centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=0)
        field[half::step, ::step] = col_mid / 4 + _noise(rng, wibble, corners.shape)
        step, wibble = half, wibble / decay
    field -= field.min()
    return field / field.max()


def _noise(rng: np.random.Generator, wibble: float, shape: tuple[int, ...]) -> np.ndarray:
    return wibble * rng.uniform(-wibble, wibble, shape)
