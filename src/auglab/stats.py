"""The statistics of the sweep report: intervals over seeds, and exchange rates.

- ``t_interval``: a mean with its Student-t confidence interval (scipy's quantile).
  Seeds are few (2-5), so the t quantile, not the normal 1.96, sets the width:
  with 3 seeds the 95% half-width is 4.30 standard errors.
- ``paired``: differences of two settings' results matched by their draws (subset
  seed and seed), so the variation a draw shares (its training images, its initial
  weights, the order it sees images in) cancels out of the comparison.
- ``variance_split``: how much of the spread of a result over a subset seed x seed
  grid comes from which images were drawn, how much from the seed (two-way ANOVA).
- ``complete_mean``: the mean over a corruption suite, only when every corruption has a
  result, so two jobs' shifted accuracies always average the same corruptions.
- ``monotone_curve`` / ``equivalent_size``: the reference (un-augmented) accuracy
  curve made non-decreasing in training-set size, and read backwards: how many
  real images reach a given accuracy (Geiping et al. 2023's exchange rate).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

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


def complete_mean(values: Iterable[float | None]) -> float | None:
    """The mean of ``values``; None when there are none or any is missing (None or NaN)."""
    found = list(values)
    if not found or any(v is None or not math.isfinite(v) for v in found):
        return None
    return statistics.fmean(found)


def paired(a: Mapping[K, float], b: Mapping[K, float]) -> dict[K, float]:
    """``a[k] - b[k]`` for every key (a job's draws: subset seed, seed) both have, in ``a``'s order."""
    return {k: value - b[k] for k, value in a.items() if k in b}


@dataclass(frozen=True)
class VarianceSplit:
    """Variance components of one result over ``n_subsets`` x ``n_seeds`` runs."""

    subset: float  # between training subsets (data.subset_seed)
    seed: float  # between seeds (initial weights, sample order, augmentation draws)
    residual: float  # subset x seed interaction and noise, inseparable with one run per pair
    n_subsets: int
    n_seeds: int

    @property
    def total(self) -> float:
        """The estimated variance of one run: the sum of the components."""
        return self.subset + self.seed + self.residual

    def share(self, component: float) -> float | None:
        """``component``'s fraction of ``total``; None when every run gave the same result."""
        return component / self.total if self.total > 0 else None


def variance_split(values: Mapping[tuple[Any, Any], float]) -> VarianceSplit | None:
    """Split the variance of ``values[(subset, seed)]`` into subset, seed and residual parts.

    Two-way crossed random-effects model with one run per (subset, seed) pair,
    ``y_ij = mu + a_i + b_j + e_ij`` with variances s2_subset, s2_seed, s2_res, estimated
    by the ANOVA (method of moments) estimator. Over ``a`` subsets and ``b`` seeds:

    - ``MS_subset = b * sum_i (mean_i. - mean..)^2 / (a - 1)``, expected ``s2_res + b s2_subset``;
    - ``MS_seed = a * sum_j (mean_.j - mean..)^2 / (b - 1)``, expected ``s2_res + a s2_seed``;
    - ``MS_res = sum_ij (y_ij - mean_i. - mean_.j + mean..)^2 / ((a - 1)(b - 1))``, expected ``s2_res``;

    so ``s2_subset = (MS_subset - MS_res) / b``, ``s2_seed = (MS_seed - MS_res) / a`` and
    ``s2_res = MS_res``, a negative estimate set to 0 (the usual truncation: the data show
    no such component). The grid must be complete, so only the seeds every subset ran
    count; None with fewer than 2 subsets or 2 such seeds. With few levels (3 x 3) each
    component is a rough estimate: read the split, not the digits.
    """
    subsets = list(dict.fromkeys(subset for subset, _ in values))
    seeds = [
        seed
        for seed in dict.fromkeys(seed for _, seed in values)
        if all((subset, seed) in values for subset in subsets)
    ]
    a, b = len(subsets), len(seeds)
    if a < 2 or b < 2:
        return None
    y = [[float(values[subset, seed]) for seed in seeds] for subset in subsets]
    grand = statistics.fmean(v for row in y for v in row)
    row_means = [statistics.fmean(row) for row in y]
    col_means = [statistics.fmean(y[i][j] for i in range(a)) for j in range(b)]
    ms_subset = b * sum((m - grand) ** 2 for m in row_means) / (a - 1)
    ms_seed = a * sum((m - grand) ** 2 for m in col_means) / (b - 1)
    ss_res = sum(
        (y[i][j] - row_means[i] - col_means[j] + grand) ** 2 for i in range(a) for j in range(b)
    )
    ms_res = ss_res / ((a - 1) * (b - 1))
    return VarianceSplit(
        subset=max(0.0, (ms_subset - ms_res) / b),
        seed=max(0.0, (ms_seed - ms_res) / a),
        residual=ms_res,
        n_subsets=a,
        n_seeds=b,
    )


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


def by_unit(values: Sequence[tuple[Any, float]]) -> tuple[list[float], str]:
    """Values averaged per training subset when there are several (``(subset, value)``
    pairs, the subset seed first), else as they are: the values an interval is over, and
    over what (``"subsets"`` or ``"seeds"``).

    Jobs on one subset share its images, so with several subsets they are not independent:
    the subset means are (a t interval over them has n_subsets - 1 degrees of freedom)."""
    subsets: dict[Any, list[float]] = {}
    for subset, value in values:
        subsets.setdefault(subset, []).append(float(value))
    if len(subsets) < 2:
        return [float(v) for _, v in values], "seeds"
    return [statistics.fmean(group) for group in subsets.values()], "subsets"


def paired_t_test(diffs: Sequence[float], level: float = LEVEL) -> tuple[Interval, float | None]:
    """The mean difference with its t interval, and the two-sided p of a paired t test
    (mean 0); p None with fewer than 2 differences. Equal differences: p 0 (or 1 at 0)."""
    from scipy.special import stdtr  # the t distribution without scipy.stats' import cost

    interval = t_interval(diffs, level)
    n = len(diffs)
    if n < 2:
        return interval, None
    sd = statistics.stdev(diffs)
    if sd == 0:
        return interval, 1.0 if interval.mean == 0 else 0.0
    t = interval.mean / (sd / math.sqrt(n))
    return interval, float(2 * stdtr(n - 1, -abs(t)))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of ``pvalues`` (in their order): family-wise error
    controlled at any level without assuming the tests independent (Holm 1979)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted
