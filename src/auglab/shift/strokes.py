"""MNIST-C's drawn lines, dotted line and zigzag, as its ``line_from_points`` draws them.

Why not ``cv2.line``: MNIST-C's line is a soft band whose ink falls off with the vertical
distance ``d`` (in pixels, 28ths of the image) from the line as ``1 + log(1 - d / 2.3)``,
1 on the line, 0.43 a pixel off, none beyond ~1.45 pixels, cut to the columns between its
ends; an anti-aliased cv2 line holds a different amount of ink, which a network notices.
"""

from __future__ import annotations

import numpy as np

from auglab.shift.corruptions import Draws


def line_ink(
    c0: np.ndarray, r0: np.ndarray, c1: np.ndarray, r1: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """(N, H, W) ink in [0, 1] of N lines from (column, row) ``(c0, r0)`` to ``(c1, r1)``
    (arrays (N,), in 28ths of the image, pixel centres at 0, 1, ...). As MNIST-C: none
    where ``c1 == c0``, and none left of ``floor(c0)`` or from ``ceil(c1)`` on."""
    h, w = shape
    s = min(h, w) / 28
    cols = (np.arange(w) + 0.5) / s - 0.5  # pixel centres in 28ths; 0..27 at 28 pixels
    rows = (np.arange(h) + 0.5) / s - 0.5
    c0, r0, c1, r1 = (np.asarray(v, np.float64)[:, None, None] for v in (c0, r0, c1, r1))
    vertical = c1 == c0
    slope = (r1 - r0) / np.where(vertical, 1, c1 - c0)
    dist = np.abs(rows[None, :, None] - (slope * (cols[None, None] - c0) + r0))
    ink = np.log(1 - np.clip(dist, 0, 2.3 - 1e-10) / 2.3) + 1
    inside = (cols[None, None] >= np.floor(c0)) & (cols[None, None] < np.ceil(c1)) & ~vertical
    return np.clip(ink, 0, 1) * inside


def _add_ink(images: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """``ink`` (N, H, W) in [0, 1] added to every channel, saturating as MNIST-C."""
    out = images / 255.0 + ink[..., None]
    return np.rint(np.clip(out, 0, 1) * 255).astype(np.uint8)


def dotted_line(images: np.ndarray, draws: Draws, _: None) -> np.ndarray:
    """MNIST-C's dotted line: a line from the left edge (column 0) to column 27 between two
    random rows in 0..26, then columns in 2-pixel blocks, every other one (0-1, 4-5, ...)
    blanked; its last column stays blank, as MNIST-C's (a line ends before ``ceil(c1)``)."""
    n, h, w, _ = images.shape
    rows = draws.integers(0, 27, 2).astype(np.float64)
    ink = line_ink(np.zeros(n), rows[:, 0], np.full(n, 27.0), rows[:, 1], (h, w))
    dashes = (np.arange(w) * 28 // w) // 2 % 2 == 1
    return _add_ink(images, ink * dashes)


def zigzag_points(r0: float, r1: float) -> np.ndarray:
    """(2, P) columns and rows of MNIST-C's zigzag from (2, ``r0``) towards (25, ``r1``): legs
    of 2 pixels along the line, 2 across it, rotated onto the line; the last point is
    MNIST-C's own ``(d, r / (2 (d - max_c)))``, its formula kept as written."""
    a = b = 2.0
    c0, c1 = 2.0, 25.0
    theta = np.arctan((r1 - r0) / (c1 - c0))
    d = (c1 - c0) / np.cos(theta)
    points = [(0.0, 0.0)]
    for i in range(int((d - a) // (2 * a)) + 1):
        points.append(((2 * i + 1) * a, (-1) ** i * b))
    max_c = (2 * a) * (d // (2 * a))
    if d != max_c:
        points.append((d, points[-1][1] / (2 * (d - max_c))))
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    cols, rows = rotation @ np.array(points).T
    return np.stack([cols + c0, rows + r0])


def zigzag(images: np.ndarray, draws: Draws, _: None) -> np.ndarray:
    """MNIST-C's zigzag: ``zigzag_points`` from a random row in 0..26, rising or falling by
    -5..4 rows, each leg drawn with ``line_ink`` and the legs' ink summed."""
    n, h, w, _ = images.shape
    u = draws.uniform(2)
    r0 = np.floor(u[:, 0] * 27)
    r1 = r0 + np.floor(u[:, 1] * 10) - 5
    ink = np.zeros((n, h, w))
    for i in range(n):
        cols, rows = zigzag_points(r0[i], r1[i])
        legs = line_ink(cols[:-1], rows[:-1], cols[1:], rows[1:], (h, w))
        ink[i] = legs.sum(0)
    return _add_ink(images, ink)
