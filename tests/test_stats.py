"""The report's statistics: Student-t intervals, pairing by draws, the monotone reference curve
and reading it backwards, the subset / seed variance split."""

from __future__ import annotations

import math
import statistics

import pytest
from scipy import stats as scipy_stats

from auglab.stats import (
    equivalent_size,
    monotone_curve,
    paired,
    t_interval,
    t_quantile,
    variance_split,
)


def test_t_quantiles_are_students_not_the_normals():
    assert t_quantile(1) == pytest.approx(12.7062, abs=1e-4)
    assert t_quantile(2) == pytest.approx(4.3027, abs=1e-4)
    assert t_quantile(1000) == pytest.approx(1.9623, abs=1e-4)


def test_t_interval_matches_scipy_stats():
    values = [0.70, 0.73, 0.74, 0.69]
    got = t_interval(values)
    low, high = scipy_stats.t.interval(
        0.95, len(values) - 1, loc=got.mean, scale=scipy_stats.sem(values)
    )
    assert (got.low, got.high) == (pytest.approx(low), pytest.approx(high))
    assert got.n == 4 and got.excludes_zero


def test_one_value_has_no_interval_and_excludes_nothing():
    got = t_interval([0.5])
    assert (got.mean, got.low, got.high, got.excludes_zero) == (0.5, None, None, False)


def test_an_interval_across_zero_does_not_exclude_it():
    assert not t_interval([-0.01, 0.02, 0.0]).excludes_zero
    assert t_interval([-0.03, -0.02, -0.025]).excludes_zero


def test_paired_keeps_only_keys_both_sides_have():
    assert paired({0: 0.9, 1: 0.8, 3: 0.5}, {1: 0.7, 0: 0.85, 2: 0.1}) == {
        0: pytest.approx(0.05),
        1: pytest.approx(0.1),
    }


def test_monotone_curve_sorts_by_size_and_leaves_an_increasing_curve_alone():
    assert monotone_curve([(1000, 0.9), (100, 0.7)]) == [(100.0, 0.7), (1000.0, 0.9)]


def test_monotone_curve_pools_a_dip_weighted_by_seeds():
    # 0.90 over 3 seeds and 0.86 over 1: pooled at (3 x 0.90 + 0.86) / 4 = 0.89.
    curve = monotone_curve([(100, 0.7), (1000, 0.9), (3000, 0.86), (10000, 0.95)], [1, 3, 1, 1])
    assert [a for _, a in curve] == pytest.approx([0.7, 0.89, 0.89, 0.95])


def test_equivalent_size_interpolates_in_log_size():
    curve = [(100.0, 0.7), (10000.0, 0.9)]
    assert equivalent_size(curve, 0.8) == pytest.approx(1000.0)  # not 5,050 (linear size)
    assert equivalent_size(curve, 0.75) == pytest.approx(10**2.5)
    assert equivalent_size(curve, 0.9) == pytest.approx(10000.0)
    assert equivalent_size(curve, 0.7) == pytest.approx(100.0)


def test_equivalent_size_beyond_and_below_the_curve():
    curve = [(100.0, 0.7), (1000.0, 0.9)]
    assert equivalent_size(curve, 0.91) == "beyond"
    assert equivalent_size(curve, 0.69) == "below"


def test_a_flat_stretch_reads_as_its_smallest_size():
    curve = [(100.0, 0.7), (1000.0, 0.89), (3000.0, 0.89), (10000.0, 0.95)]
    assert equivalent_size(curve, 0.89) == pytest.approx(1000.0)
    assert equivalent_size(curve, 0.92) == pytest.approx(math.sqrt(3000 * 10000))


def test_paired_matches_subset_seed_and_seed_together():
    a = {(0, 1): 0.9, (1, 1): 0.8, (None, 1): 0.7, (1, 2): 0.6}
    b = {(0, 1): 0.85, (1, 2): 0.5, (2, 1): 0.1, (None, 1): 0.6}
    assert paired(a, b) == {
        (0, 1): pytest.approx(0.05),
        (None, 1): pytest.approx(0.1),
        (1, 2): pytest.approx(0.1),
    }


SUBSET_EFFECTS = {10: 0.03, 11: -0.01, 12: -0.02}
SEED_EFFECTS = {0: 0.004, 1: -0.006, 2: 0.0, 3: 0.002}


def additive_grid(noise: dict[tuple[int, int], float] | None = None) -> dict:
    """accuracy = 0.8 + a_subset + b_seed (+ noise), over 3 subsets x 4 seeds."""
    return {
        (sub, seed): 0.8 + a + b + (noise or {}).get((sub, seed), 0.0)
        for sub, a in SUBSET_EFFECTS.items()
        for seed, b in SEED_EFFECTS.items()
    }


def test_an_additive_grid_gives_back_its_subset_and_seed_variances_and_no_residual():
    split = variance_split(additive_grid())
    assert (split.n_subsets, split.n_seeds) == (3, 4)
    assert split.subset == pytest.approx(statistics.variance(SUBSET_EFFECTS.values()))
    assert split.seed == pytest.approx(statistics.variance(SEED_EFFECTS.values()))
    assert split.residual == pytest.approx(0, abs=1e-15)
    assert split.share(split.subset) + split.share(split.seed) == pytest.approx(1)


def test_the_variance_split_matches_the_anova_mean_squares_by_hand():
    # y = [[1, 2], [3, 5]]: MS_subset 6.25, MS_seed 2.25, MS_res 0.25 (one residual df).
    split = variance_split({("a", 0): 1, ("a", 1): 2, ("b", 0): 3, ("b", 1): 5})
    assert (split.subset, split.seed, split.residual) == pytest.approx((3.0, 1.0, 0.25))
    assert split.total == pytest.approx(4.25)


def test_a_negative_component_is_truncated_at_zero():
    # Seeds shift nothing, and the interaction makes MS_seed < MS_res: s2_seed estimated 0.
    split = variance_split({(0, 0): 1.0, (0, 1): 2.0, (1, 0): 4.0, (1, 1): 3.0})
    assert split.seed == 0.0 and split.residual == pytest.approx(1.0)
    assert split.subset == pytest.approx((4.0 - 1.0) / 2)  # MS_subset 4, MS_res 1


def test_the_split_uses_the_seeds_every_subset_ran_and_needs_a_2x2_grid():
    grid = additive_grid()
    del grid[11, 3]  # a failed job: seed 3 drops out for every subset
    assert variance_split(grid).n_seeds == 3
    assert variance_split({(0, 0): 0.5, (0, 1): 0.6}) is None  # one subset
    assert variance_split({(0, 0): 0.5, (1, 1): 0.6}) is None  # no seed in common
    assert variance_split({(0, 0): 0.5, (1, 0): 0.5, (0, 1): 0.5, (1, 1): 0.5}).share(0.0) is None
