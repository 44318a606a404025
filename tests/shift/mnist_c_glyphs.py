"""Digit-like test images that the MNIST-C fidelity constants were measured on.

Why not MNIST: tests never read the data dir, so the images the authors' code ran on must
be ones a test can make again: printed digits (OpenCV's Hershey font, anti-aliased), one a
28x28 image, centred with a jitter of up to 2 pixels, about MNIST's size and stroke.
"""

from __future__ import annotations

import cv2
import numpy as np


def glyphs(n: int = 200, seed: int = 0) -> np.ndarray:
    """(n, 28, 28) uint8 white digits on black."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 28, 28), np.uint8)
    for image in out:
        text, size = str(rng.integers(10)), rng.uniform(0.7, 0.95)
        (width, height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, 2)
        left = (28 - width) // 2 + int(rng.integers(-2, 3))
        base = (28 + height) // 2 + int(rng.integers(-2, 3))
        cv2.putText(image, text, (left, base), cv2.FONT_HERSHEY_SIMPLEX, size, 255, 2, cv2.LINE_AA)
    return out
