"""select_subset / check_size / check_subset_seed on plain label arrays."""

from __future__ import annotations

import numpy as np
import pytest

from auglab.data.subset import (
    check_size,
    check_subset_seed,
    resolve_size,
    select_subset,
)
from auglab.errors import ConfigError

LABELS = np.repeat(np.arange(4), 25)  # 100 images, 25 per class


def test_reference_slices_win_over_first_n():
    idx = select_subset(LABELS, 10, "reference", reference_slices={10: (40, 50)})
    assert idx.tolist() == list(range(40, 50))


def test_first_ignores_reference_slices():
    idx = select_subset(LABELS, 10, "first", reference_slices={10: (40, 50)})
    assert idx.tolist() == list(range(10))


def test_stratified_remainder_spreads_over_classes():
    idx = select_subset(LABELS, 10, "stratified", seed=0)
    counts = np.bincount(LABELS[idx], minlength=4)
    assert counts.sum() == 10 and counts.max() - counts.min() <= 1


def test_stratified_refuses_a_class_too_small():
    labels = np.array([0] * 50 + [1] * 2)
    with pytest.raises(ConfigError, match="class 1 has only 2"):
        select_subset(labels, 10, "stratified")


def test_size_larger_than_pool_is_refused():
    with pytest.raises(ConfigError, match="larger than the 100"):
        select_subset(LABELS, 101)


def test_unknown_mode_is_refused():
    with pytest.raises(ConfigError, match="data.subset='random'"):
        select_subset(LABELS, 10, "random")


def test_check_size_accepts_null_and_positive_ints():
    assert check_size(None) is None
    assert check_size(np.int64(7)) == 7 and isinstance(check_size(np.int64(7)), int)


def test_check_size_takes_fractions_of_the_pool_and_all():
    assert check_size(0.1) == 0.1 and isinstance(check_size(0.1), float)
    assert check_size(1.0) == 1.0  # the whole pool, as a fraction
    assert check_size(np.float32(0.5)) == 0.5
    assert check_size("all") is None and check_size(" ALL ") is None
    assert check_size(1) == 1 and isinstance(check_size(1), int)  # one image, not the pool


@pytest.mark.parametrize("bad", [0, -5, 2.5, 1.5, -0.1, 0.0, float("nan"), True, "abc", "0.1"])
def test_check_size_refuses_anything_else_in_one_line_with_the_fix(bad):
    with pytest.raises(ConfigError) as err:
        check_size(bad)
    message = str(err.value)
    assert message.startswith(f"data.size={bad!r} must be a whole number >= 1 (a count")
    assert "data.size=1000" in message and "data.size=0.1" in message
    assert "or all (null)" in message and "\n" not in message


def test_a_whole_float_above_1_is_named_as_the_float_it_is():
    # `data.size=1e3` on the command line is a float: the line says which count was meant.
    with pytest.raises(ConfigError, match=r"; 1000.0 is a float: write data.size=1000$"):
        check_size(1e3)


def test_resolve_size_rounds_a_fraction_of_the_pool_to_whole_images():
    assert resolve_size(0.1, 55_000) == 5_500
    assert resolve_size(0.0001, 55_000) == 6  # 5.5 rounds to even
    assert resolve_size(1e-9, 100) == 1  # never an empty training set
    assert resolve_size(1.0, 100) is None and resolve_size(None, 100) is None
    assert resolve_size(300, 100) == 300  # a count is the count (select_subset checks it)


def test_the_default_draws_are_the_ones_before_subset_seed_existed():
    # Golden values from the code before data.subset_seed: seed-drawn stratified, fixed slices.
    stratified = select_subset(LABELS, 10, "stratified", seed=7, subset_seed=None)
    assert stratified.tolist() == [13, 19, 20, 26, 32, 50, 70, 71, 78, 94]
    reference = select_subset(LABELS, 10, "reference", 7, {10: (40, 50)}, subset_seed=None)
    assert reference.tolist() == list(range(40, 50))


def test_a_subset_seed_draws_the_same_images_whatever_the_mode_and_training_seed():
    draws = {
        tuple(select_subset(LABELS, 10, mode, seed, {10: (40, 50)}, subset_seed=0).tolist())
        for mode in ("reference", "first", "stratified")
        for seed in (0, 1, 42)
    }
    # One draw, the same in every run and process: pinned (numpy's PCG64 streams are stable).
    assert draws == {(0, 1, 7, 41, 44, 61, 64, 74, 88, 99)}


def test_different_subset_seeds_draw_different_class_balanced_subsets():
    draws = [select_subset(LABELS, 12, subset_seed=s) for s in range(5)]
    assert len({tuple(d) for d in draws}) == 5
    for d in draws:
        assert len(set(d)) == 12 and np.bincount(LABELS[d], minlength=4).tolist() == [3] * 4


def test_a_subset_seed_too_large_for_a_class_names_the_knob():
    labels = np.array([0] * 50 + [1] * 2)
    with pytest.raises(ConfigError, match=r"^data.subset_seed=3 cannot draw 10 balanced images"):
        select_subset(labels, 10, subset_seed=3)


@pytest.mark.parametrize("bad", [-1, 2.5, True, "abc"])
def test_check_subset_seed_refuses_anything_but_a_whole_number_or_null(bad):
    assert check_subset_seed(None) is None and check_subset_seed(np.int64(3)) == 3
    with pytest.raises(ConfigError) as err:
        check_subset_seed(bad)
    assert str(err.value).startswith(f"data.subset_seed={bad!r} must be a whole number >= 0; ")
    assert "\n" not in str(err.value)
