"""A plasma fractal (diamond-square, Fournier, Fussell & Carpenter 1982) for the fog
corruption: a cloud-like field in [0, 1] whose detail fades with ``roughness``.

Diamond-square refines a coarse grid by doubling it: each new point between four
diagonal neighbours (the diamond step) and then each between four axial ones (the
square step) takes their mean plus noise, and the noise shrinks by ``roughness`` each
time. Here each refinement runs on the whole grid at once (the means as 3x3
convolutions that see zero beyond the border), the grid is rescaled to [0, 1] after
each, and the draws come from the generator passed in, in this order: the 3x3 seed
grid, then one field of noise per refinement. With these steps and draws the field is
the one albumentations 2.0 makes for its plasma transforms, so fog's images did not
change when auglab stopped importing that function from albumentations' internals.
"""

from __future__ import annotations

import cv2
import numpy as np

#: The mean of the four diagonal neighbours (diamond step) and of the four axial ones
#: (square step).
_DIAGONAL = np.float32([[0.25, 0.0, 0.25], [0.0, 0.0, 0.0], [0.25, 0.0, 0.25]])
_AXIAL = np.float32([[0.0, 0.25, 0.0], [0.25, 0.0, 0.25], [0.0, 0.25, 0.0]])


def plasma_fractal(
    shape: tuple[int, int], roughness: float, rng: np.random.Generator
) -> np.ndarray:
    """A (height, width) float32 field in [0, 1]: a plasma fractal grown from a 3x3 grid by
    diamond-square until it covers ``shape``, its noise scaled by ``roughness ** k`` at
    refinement k (below 1: smoother clouds), cropped to ``shape``."""
    height, width = shape
    side = 2 ** np.ceil(np.log2(max(shape) - 1)) + 1  # a 2^k + 1 grid covers the image
    refinements = int(np.log2(side - 1) - 1)  # 3 -> 5 -> 9 -> ... -> side
    noise_scales = np.float32([roughness**k for k in range(refinements)])
    grid = rng.uniform(-1, 1, (3, 3)).astype(np.float32)
    for noise_scale in noise_scales:
        grid = _refine(grid, noise_scale, rng)
    return np.clip(_unit(grid[:height, :width]), 0, 1)


def _refine(grid: np.ndarray, noise_scale: float, rng: np.random.Generator) -> np.ndarray:
    """One diamond-square step: a (2h - 1, 2w - 1) grid from an (h, w) one, in [0, 1]."""
    height, width = 2 * grid.shape[0] - 1, 2 * grid.shape[1] - 1
    noise = rng.uniform(-noise_scale, noise_scale, (height, width)).astype(np.float32)
    finer = np.zeros((height, width), dtype=np.float32)
    finer[::2, ::2] = grid + noise[::2, ::2]  # the known points, jittered
    for kernel in (_DIAGONAL, _AXIAL):
        mean = cv2.filter2D(finer, -1, kernel, borderType=cv2.BORDER_CONSTANT)
        finer += (mean + noise) * (mean > 0)  # only where neighbours already hold values
    return _unit(finer)


def _unit(field: np.ndarray) -> np.ndarray:
    """``field`` rescaled to span [0, 1] (float32)."""
    return cv2.normalize(field, None, 0, 1, cv2.NORM_MINMAX, dtype=cv2.CV_32F)
