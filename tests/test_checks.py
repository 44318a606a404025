"""check_int / check_fraction: the one rule for counts and fractions in every config knob."""

from __future__ import annotations

import numpy as np
import pytest

from auglab.checks import check_fraction, check_int
from auglab.errors import ConfigError


def test_check_int_returns_a_plain_int():
    assert check_int(3, "k") == 3
    assert check_int(0, "k") == 0  # the default minimum
    value = check_int(np.int64(7), "k", 1)
    assert value == 7 and type(value) is int


@pytest.mark.parametrize("bad", [True, False])
def test_check_int_refuses_bools(bad):
    with pytest.raises(ConfigError, match=rf"^k={bad} must be a whole number >= 0$"):
        check_int(bad, "k")


@pytest.mark.parametrize("bad", [3.0, 2.5, 1e4, np.float64(2.0), "3", [3]])
def test_check_int_refuses_floats_even_whole_ones_and_other_types(bad):
    with pytest.raises(ConfigError) as err:
        check_int(bad, "data.batch_size", 1)
    assert str(err.value) == f"data.batch_size={bad!r} must be a whole number >= 1"


def test_check_int_refuses_values_below_the_minimum_and_adds_the_hint():
    assert check_int(2, "num_classes", 2) == 2
    with pytest.raises(ConfigError) as err:
        check_int(1, "num_classes", 2, hint="check the class names")
    assert str(err.value) == "num_classes=1 must be a whole number >= 2; check the class names"
    with pytest.raises(ConfigError, match=r"^k=-1 must be a whole number >= 0$"):
        check_int(-1, "k")


def test_check_int_allows_none_only_when_asked():
    assert check_int(None, "data.size", 1, allow_none=True) is None
    with pytest.raises(ConfigError, match=r"^data.size=None must be a whole number >= 1$"):
        check_int(None, "data.size", 1)


@pytest.mark.parametrize("value", [0.2, 1e-9, 0.999, np.float32(0.5), 1 / 3])
def test_check_fraction_accepts_numbers_strictly_between_0_and_1(value):
    assert check_fraction(value, "data.val_fraction") == pytest.approx(float(value))
    assert type(check_fraction(value, "data.val_fraction")) is float


@pytest.mark.parametrize(
    "bad", [0, 0.0, 1, 1.0, -0.1, 1.5, float("nan"), float("inf"), True, "0.2", None]
)
def test_check_fraction_refuses_bounds_bools_and_non_numbers(bad):
    with pytest.raises(ConfigError) as err:
        check_fraction(bad, "data.test_fraction", hint="the share held out")
    message = str(err.value)
    assert message == (
        f"data.test_fraction={bad!r} must be a fraction strictly between 0 and 1 such as 0.2; "
        "the share held out"
    )
    assert "\n" not in message
