"""The two checks every config knob that counts or splits goes through.

One rule everywhere: a count is a Python/numpy integer (never a bool, never a
float, not even ``3.0``: ``data.size=1e4`` on the command line is a float and is
refused like ``2.5``), a fraction a number strictly between 0 and 1. Both raise a
one-line :class:`~auglab.errors.ConfigError` naming the key, the value and the fix.
"""

from __future__ import annotations

import math
import numbers

from auglab.errors import ConfigError


def check_int(
    value: object, key: str, minimum: int = 0, *, allow_none: bool = False, hint: str = ""
) -> int | None:
    """``value`` as an ``int`` if it is a whole number >= ``minimum`` (None passes with ``allow_none``).

    ``hint`` follows the message after "; ": say what the knob means or how to fix it.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(
            f"{key}={value!r} must be a whole number >= {minimum}{'; ' + hint if hint else ''}"
        )
    return int(value)


def check_fraction(value: object, key: str, *, hint: str = "") -> float:
    """``value`` as a ``float`` if it is a number strictly between 0 and 1 (bools refused)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or not 0 < value < 1
    ):
        raise ConfigError(
            f"{key}={value!r} must be a fraction strictly between 0 and 1 such as 0.2"
            f"{'; ' + hint if hint else ''}"
        )
    return float(value)
