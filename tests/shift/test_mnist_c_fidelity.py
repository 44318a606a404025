"""auglab's 15 corruptions make images like MNIST-C's own code does, statistic for statistic.

How the constants were made (once, outside the repository; docs/mnist_c_fidelity.md):
google-research/mnist-c ``corruptions.py`` at bba57e4 (2019), in a scratch venv with
Python 3.11, numpy 1.23.5, scipy 1.10.1, scikit-image 0.20.0, opencv-python-headless
4.8.1.78, Wand 0.6.13 on ImageMagick 6.9.11-60 Q16, Pillow 9.5.0. Patched only where
those versions renamed an API: ``multichannel=True`` -> ``channel_axis=-1`` (the same
meaning) and a seed passed to ``random_noise`` (it no longer reads numpy's global
state). Each function at its default severity on ``glyphs(200, seed=0)`` (as
``PIL.Image`` 'L'), ``np.random.seed(k)`` before each corruption, k = 0..7; the constants
are the means over the 8 seeds of (pixel mean, mean of each image's std, share of pixels
above ``INK``), all on [0, 1].

Tolerance: 4 seed-to-seed standard deviations of the authors' own statistic, times
sqrt(1 + 1/8) for comparing one of our seeds with their 8-seed mean, and at least 0.003
(about one grey level of rounding: their outputs are float, ours 8-bit). Fog's pixel
mean and ink share vary most from seed to seed (a plasma cloud is a few large blobs);
its per-image spread, the fog's contrast, is as tight as the rest and is what
distinguishes a 28-pixel plasma (spread 0.166) from MNIST-C's crop of a 256-pixel one.
"""

from __future__ import annotations

import numpy as np
import pytest

from auglab.shift import CORRUPTIONS, corrupt
from auglab.shift.blur import motion_blur, motion_kernel
from auglab.shift.corruptions import Draws
from tests.shift.mnist_c_glyphs import glyphs

#: A pixel above 140 of 255 is ink: above the mid-grey (127.5) that brightness lifts
#: black to, which 8 bits round to 128 and a 0.5 threshold would count.
INK = 0.55

#: name: ((mean, spread, ink share) of the authors' output, tolerance of each).
AUTHORS = {
    "shot_noise": ((0.1305, 0.3043, 0.1308), (0.003, 0.003, 0.003)),
    "impulse_noise": ((0.2196, 0.3967, 0.2161), (0.003, 0.003, 0.003)),
    "glass_blur": ((0.1616, 0.2886, 0.1486), (0.003, 0.003, 0.003)),
    "motion_blur": ((0.1609, 0.2746, 0.1404), (0.003, 0.003, 0.003)),
    "shear": ((0.1748, 0.3375, 0.1689), (0.003, 0.003, 0.003)),
    "scale": ((0.0794, 0.2435, 0.0765), (0.003, 0.003, 0.003)),
    "rotate": ((0.1620, 0.3280, 0.1560), (0.003, 0.003, 0.003)),
    "brightness": ((0.5921, 0.1866, 0.2055), (0.003, 0.003, 0.003)),
    "translate": ((0.1589, 0.3413, 0.1549), (0.003, 0.003, 0.003)),
    "stripe": ((0.6464, 0.4609, 0.6430), (0.003, 0.003, 0.003)),
    "fog": ((0.4149, 0.0979, 0.2278), (0.042, 0.003, 0.082)),
    "spatter": ((0.1746, 0.3233, 0.1392), (0.005, 0.007, 0.007)),
    "dotted_line": ((0.1845, 0.3580, 0.1804), (0.003, 0.003, 0.003)),
    "zigzag": ((0.2068, 0.3726, 0.2007), (0.003, 0.003, 0.003)),
    "canny_edges": ((0.0958, 0.2929, 0.0958), (0.003, 0.003, 0.003)),
}

GLYPHS = glyphs(200, seed=0)[..., None]


def statistics(images: np.ndarray) -> np.ndarray:
    """(mean, mean of each image's std, share above INK) of uint8 (N, H, W, C) images."""
    x = images / 255.0
    return np.array([x.mean(), x.std(axis=(1, 2, 3)).mean(), (x > INK).mean()])


def test_the_constants_cover_the_suite():
    assert list(AUTHORS) == list(CORRUPTIONS)


@pytest.mark.parametrize("name", list(AUTHORS))
def test_statistics_match_the_authors_code(name):
    expected, tolerance = (np.array(v) for v in AUTHORS[name])
    got = statistics(corrupt(GLYPHS, name, seed=0))
    labels = ("mean", "spread", "ink share")
    off = [
        f"{k} {g:.4f} vs {e:.4f}"
        for k, g, e, t in zip(labels, got, expected, tolerance, strict=True)
        if abs(g - e) > t
    ]
    assert not off, f"{name}: {', '.join(off)} (tolerance {tuple(tolerance)})"


def test_the_clean_glyphs_are_the_ones_measured():
    # The authors' code ran on these bytes; a change here would void the constants.
    assert GLYPHS.shape == (200, 28, 28, 1)
    assert statistics(GLYPHS) == pytest.approx([0.1622, 0.3440, 0.1580], abs=5e-4)


def test_motion_blur_spreads_a_point_as_imagemagick_does():
    """A white pixel at (14, 14) through ImageMagick 6.9.11's ``MotionBlurImage`` (wand,
    radius 10, sigma 3, angle 20 degrees, as MNIST-C calls it): a one-sided Gaussian
    streak, up and to the left, (dy, dx, value) for every non-black pixel;
    ours within 1 grey level."""
    imagemagick = [
        (-3, -8, 2), (-2, -7, 3), (-2, -6, 8), (-2, -5, 14), (-1, -4, 24),
        (-1, -3, 36), (-1, -2, 47), (0, -1, 56), (0, 0, 59),
    ]  # fmt: skip
    point = np.zeros((1, 28, 28, 1), np.uint8)
    point[0, 14, 14] = 255
    draws = Draws.of(0, "motion_blur", np.arange(1))
    angle = -45 + 90 * draws.uniform(1)[0, 0]
    theirs, ours = np.zeros((28, 28)), np.zeros((28, 28))
    for dy, dx, value in imagemagick:
        theirs[14 + dy, 14 + dx] = value
    for w, (dy, dx) in zip(*motion_kernel(10, 3, 20.0), strict=True):
        ours[14 - dy, 14 - dx] += 255 * w
    assert np.abs(np.rint(ours) - theirs).max() <= 1  # ImageMagick rounds at 16 bits
    out = motion_blur(point, draws, (10, 3))[0, ..., 0]  # the corruption uses these taps
    expected = np.zeros((28, 28))
    for w, (dy, dx) in zip(*motion_kernel(10, 3, angle), strict=True):
        expected[14 - dy, 14 - dx] += 255 * w
    assert np.array_equal(out, np.rint(expected))
