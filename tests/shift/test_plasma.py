"""The plasma fractal behind the fog corruption, MNIST-C's: a map in [0, 1] as a whole,
fixed by a seed, that wraps around, whose decay sets how much fine detail it has, and whose
28-pixel corner spans only part of the range (what makes MNIST-C's fog light)."""

from __future__ import annotations

import numpy as np
import pytest

from auglab.shift.plasma import plasma_fractal


def field(size=256, decay=1.4, seed=0) -> np.ndarray:
    return plasma_fractal(size, decay, np.random.default_rng(seed))


@pytest.mark.parametrize("size", [2, 32, 256])
def test_the_map_spans_zero_to_one_as_a_whole(size):
    plasma = field(size)
    assert plasma.shape == (size, size) and plasma.dtype == np.float64
    assert plasma.min() == 0 and plasma.max() == pytest.approx(1)


def test_a_seed_fixes_the_map_and_another_seed_changes_it():
    assert np.array_equal(field(seed=3), field(seed=3))
    assert not np.array_equal(field(seed=3), field(seed=4))


def test_larger_decay_gives_smoother_clouds():
    def detail(plasma: np.ndarray) -> float:  # mean step between neighbouring pixels
        return float(
            np.abs(np.diff(plasma, axis=0)).mean() + np.abs(np.diff(plasma, axis=1)).mean()
        )

    smooth = np.mean([detail(field(128, 2.0, s)) for s in range(5)])
    rough = np.mean([detail(field(128, 1.2, s)) for s in range(5)])
    assert smooth < 0.7 * rough


def test_the_map_wraps_around_like_a_torus():
    # Steps across the seam (last row to first) are as small as steps inside the map.
    plasma = field(128, 2.0)
    inside = np.abs(np.diff(plasma, axis=0)).mean()
    assert np.abs(plasma[-1] - plasma[0]).mean() < 3 * inside


def test_a_28_pixel_corner_spans_a_part_of_the_range_as_mnist_c():
    """google-research/mnist-c's ``plasma_fractal(wibbledecay=1.4)[:28, :28]``: over 1000
    maps (its code under numpy 1.23, seed 1) a corner spans 0.29 of [0, 1] on average (0.10
    spread) and
    its mean is 0.51, spreading 0.19 from map to map (seed 1)."""
    corners = np.stack([field(256, 1.4, s)[:28, :28] for s in range(60)])
    spans = corners.max(axis=(1, 2)) - corners.min(axis=(1, 2))
    assert 0.2 < spans.mean() < 0.37
    assert 0.4 < corners.mean() < 0.6


def test_sizes_that_are_not_powers_of_two_are_refused():
    with pytest.raises(ValueError, match="power of two"):
        plasma_fractal(28, 1.4, np.random.default_rng(0))
