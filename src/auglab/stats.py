"""The statistics of the sweep report: intervals over seeds, and exchange rates.

- ``t_interval``: a mean with its Student-t confidence interval (scipy's quantile).
  Seeds are few (2-5), so the t quantile, not the normal 1.96, sets the width:
  with 3 seeds the 95% half-width is 4.30 standard errors.
- ``paired``: differences of two settings' results matched by seed, so the
  variation every seed shares (its validation split, its initial weights, the
  order it sees images in) cancels out of the comparison.
- ``monotone_curve`` / ``equivalent_size``: the reference (un-augmented) accuracy
  curve made non-decreasing in training-set size, and read backwards: how many
  real images reach a given accuracy (Geiping et al. 2023's exchange rate).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

#: Confidence level of every interval in the report.
LEVEL = 0.95

K = TypeVar("K")


@dataclass(frozen=True)
class Interval:
    """A mean over ``n`` values and its confidence interval (None with fewer than 2 values)."""

    mean: float
    n: int
    low: float | None = None
    high: float | None = None

    @property
    def excludes_zero(self) -> bool:
        """The interval lies wholly above or below 0 (never with fewer than 2 values)."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


def t_quantile(df: int, level: float = LEVEL) -> float:
    """The two-sided Student-t quantile: 12.71 for df=1, 4.30 for df=2 at 95%."""
    from scipy.special import stdtrit  # scipy.stats costs 0.5 s of import; this the same value

    return float(stdtrit(df, 0.5 + level / 2))


def t_interval(values: Sequence[float], level: float = LEVEL) -> Interval:
    """Mean ± t(n-1) · s / √n, with s the sample standard deviation."""
    if not values:
        raise ValueError("an interval needs at least one value")
    mean = statistics.fmean(values)
    n = len(values)
    if n < 2:
        return Interval(mean, n)
    half = t_quantile(n - 1, level) * statistics.stdev(values) / math.sqrt(n)
    return Interval(mean, n, mean - half, mean + half)


def paired(a: Mapping[K, float], b: Mapping[K, float]) -> dict[K, float]:
    """``a[k] - b[k]`` for every key (seed) both have, in ``a``'s order."""
    return {k: value - b[k] for k, value in a.items() if k in b}


def monotone_curve(
    points: Sequence[tuple[float, float]], weights: Sequence[float] | None = None
) -> list[tuple[float, float]]:
    """(size, accuracy) points, sorted by size, fitted to the closest non-decreasing curve.

    A curve measured over a few seeds can dip (more data, lower mean accuracy) by
    noise alone; read backwards, a dip would give one accuracy two sizes. The
    isotonic (least-squares non-decreasing) fit pools each dip with its neighbours,
    weighted by ``weights`` (the seeds behind each point); an already increasing
    curve is left as it is.
    """
    from scipy.optimize import isotonic_regression

    order = sorted(range(len(points)), key=lambda i: points[i][0])
    sizes = [float(points[i][0]) for i in order]
    accs = [float(points[i][1]) for i in order]
    w = None if weights is None else [float(weights[i]) for i in order]
    fitted = isotonic_regression(accs, weights=w, increasing=True).x
    return list(zip(sizes, (float(f) for f in fitted), strict=True))


Bound = Literal["below", "beyond"]


def equivalent_size(curve: Sequence[tuple[float, float]], acc: float) -> float | Bound:
    """The training-set size at which the non-decreasing ``curve`` reaches ``acc``.

    Linear interpolation in log size between the curve's points; where the curve is
    flat at ``acc``, its smallest size. ``"beyond"`` when ``acc`` is above the
    curve's last point (more than its largest size would be needed, by an amount
    the sweep cannot tell), ``"below"`` when under its first.
    """
    if not curve:
        raise ValueError("an exchange rate needs a reference curve")
    if acc > curve[-1][1]:
        return "beyond"
    if acc < curve[0][1]:
        return "below"
    for (s0, a0), (s1, a1) in zip(curve, curve[1:], strict=False):
        if acc <= a0:
            return s0
        if acc <= a1:  # a0 < acc <= a1
            t = (acc - a0) / (a1 - a0)
            return math.exp(math.log(s0) + t * (math.log(s1) - math.log(s0)))
    return curve[-1][0]  # a single-point curve: acc equals its accuracy
