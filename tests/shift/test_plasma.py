"""The plasma fractal behind the fog corruption: a field in [0, 1] that a seed fixes, whose
roughness sets how much fine detail it has, and that has not changed since fog's
images were first made (then with albumentations 2.0's own function)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from auglab.shift.plasma import plasma_fractal


def field(shape=(28, 28), roughness=0.5, seed=0) -> np.ndarray:
    return plasma_fractal(shape, roughness, np.random.default_rng(seed))


@pytest.mark.parametrize("shape", [(3, 3), (28, 28), (17, 40), (128, 96)])
def test_the_field_covers_the_shape_and_spans_zero_to_one(shape):
    plasma = field(shape)
    assert plasma.shape == shape and plasma.dtype == np.float32
    assert 0 <= plasma.min() < 1e-6 and 1 - 1e-6 < plasma.max() <= 1  # float32 rounding


def test_a_seed_fixes_the_field_and_another_seed_changes_it():
    assert np.array_equal(field(seed=3), field(seed=3))
    assert not np.array_equal(field(seed=3), field(seed=4))


def test_lower_roughness_gives_smoother_clouds():
    def detail(plasma: np.ndarray) -> float:  # mean step between neighbouring pixels
        return float(
            np.abs(np.diff(plasma, axis=0)).mean() + np.abs(np.diff(plasma, axis=1)).mean()
        )

    smooth = np.mean([detail(field((64, 64), 0.3, s)) for s in range(5)])
    rough = np.mean([detail(field((64, 64), 0.9, s)) for s in range(5)])
    assert smooth < 0.7 * rough


def test_the_field_is_the_one_fog_was_first_made_with():
    """albumentations 2.0.8's generate_plasma_pattern((28, 28), 0.5, default_rng(0)) made
    these bytes: fog's corrupted test sets (and any record's shift results) carry over."""
    plasma = field()
    assert hashlib.sha256(plasma.tobytes()).hexdigest()[:16] == "4e397d519931c0a7"
    assert plasma[0, :3] == pytest.approx([0.55407953, 0.47498482, 0.43238962])
