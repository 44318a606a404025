"""select_subset / check_size on plain label arrays."""

from __future__ import annotations

import numpy as np
import pytest

from auglab.data.subset import check_size, select_subset
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


@pytest.mark.parametrize("bad", [0, -5, 1e4, 2.5, True, "abc"])
def test_check_size_refuses_anything_but_a_positive_int_with_the_fix(bad):
    # One rule for every count: floats are refused, even whole ones such as 1e4.
    with pytest.raises(ConfigError) as err:
        check_size(bad)
    assert str(err.value).startswith(f"data.size={bad!r} must be a whole number >= 1; ")
    assert "data.size=null for all" in str(err.value)
