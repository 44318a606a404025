"""MNIST-C's canny edges: skimage's ``feature.canny`` with its defaults, in numpy/scipy.

Why not OpenCV's ``Canny``: skimage's smooths with a border-renormalised Gaussian,
thins edges by comparing each pixel with its neighbours' magnitudes *interpolated*
along the gradient, and never marks the outermost pixels; OpenCV rounds the gradient to
one of four directions, which keeps ~4% more edge pixels on digits.

The steps (skimage 0.15-0.20, its defaults as MNIST-C calls ``canny(x)`` on ``x`` in
[0, 1]): Gaussian of sigma 1 (zero beyond the border, divided by the same blur of an
all-ones image); Sobel derivatives; a pixel off the 1-pixel frame stays if its magnitude
is at least 0.1 and at least its two neighbours' along the gradient; of those, the
8-connected groups holding a magnitude of 0.2 or more are the edges.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

LOW, HIGH = 0.1, 0.2


def _gradients(x: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Row and column Sobel derivatives (N, H, W) of the renormalised blur of ``x``."""
    blur = (0, sigma, sigma)
    smooth = ndi.gaussian_filter(x, blur, mode="constant", truncate=4.0)
    smooth /= ndi.gaussian_filter(np.ones_like(x), blur, mode="constant", truncate=4.0) + (
        np.finfo(np.float64).eps
    )

    def sobel(along: int, across: int) -> np.ndarray:
        d = ndi.correlate1d(smooth, [-1.0, 0.0, 1.0], axis=along, mode="reflect")
        return ndi.correlate1d(d, [1.0, 2.0, 1.0], axis=across, mode="reflect")

    return sobel(1, 2), sobel(2, 1)


def _thin(gi: np.ndarray, gj: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """Non-maximum suppression: magnitude >= both neighbours' along the gradient, each
    interpolated between the axial and the diagonal pixel on that side."""
    n, h, w = magnitude.shape
    padded = np.pad(magnitude, ((0, 0), (1, 1), (1, 1)))
    si, sj = np.sign(gi).astype(np.int64), np.sign(gj).astype(np.int64)
    rows_first = np.abs(gi) >= np.abs(gj)  # step mostly along rows
    big, small = np.maximum(np.abs(gi), np.abs(gj)), np.minimum(np.abs(gi), np.abs(gj))
    weight = np.divide(small, big, out=np.zeros_like(big), where=big > 0)
    img, r, c = np.ogrid[:n, 1 : h + 1, 1 : w + 1]
    keep = np.ones(magnitude.shape, bool)
    for side in (1, -1):
        axial = np.where(rows_first, padded[img, r + side * si, c], padded[img, r, c + side * sj])
        diagonal = padded[img, r + side * si, c + side * sj]
        keep &= weight * diagonal + (1 - weight) * axial <= magnitude
    return keep


def canny_edges(images: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Edge masks (N, H, W) bool of ``images`` (N, H, W, C) in [0, 1]; colour: each pixel
    takes the gradient of its channel with the largest magnitude."""
    n, h, w, channels = images.shape
    grads = [_gradients(images[..., k].astype(np.float64), sigma) for k in range(channels)]
    gi, gj = np.stack([g[0] for g in grads]), np.stack([g[1] for g in grads])
    strongest = np.hypot(gi, gj).argmax(0)[None]
    gi, gj = np.take_along_axis(gi, strongest, 0)[0], np.take_along_axis(gj, strongest, 0)[0]
    magnitude = np.hypot(gi, gj)
    inner = np.zeros((h, w), bool)
    inner[1:-1, 1:-1] = True
    low = inner & (magnitude >= LOW) & _thin(gi, gj, magnitude)
    connect = np.zeros((3, 3, 3), bool)
    connect[1] = True  # 8-connected within an image, never across images
    labels, count = ndi.label(low, connect)
    strong = np.zeros(count + 1, bool)
    strong[np.unique(labels[low & (magnitude >= HIGH)])] = True
    strong[0] = False
    return strong[labels]
