"""The exchange rate read off ``off``'s fitted learning curve, with bootstrap intervals.

``off``'s test error against training-set size is fitted as err(n) = a·n^(−b) + c
(``auglab.powerlaw``) on its per-job points; a setting's exchange rate at size N is the n
at which that curve reaches the setting's mean error at N, and n / N its ratio. Between
``off``'s smallest and largest sizes it is read; beyond them it is an extrapolation (the
fit's shape, not a measurement); below the asymptote c no size reaches it.

The interval is a 95% percentile bootstrap over training subsets: at each size, ``off``'s
subsets (``data.subset_seed``) are drawn with replacement and the curve refitted, and
independently the setting's subsets; a cell with one subset has its jobs (seeds) drawn
instead. Seeded per curve and setting: the same sweep always gives the same interval.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from auglab import powerlaw
from auglab.powerlaw import PowerLaw
from auglab.report.cells import OFF, Cell

#: Bootstrap resamples per curve: a 95% percentile interval's ends from 25 values each.
RESAMPLES = 1000
#: The bootstrap's seed (with the curve's and the setting's names).
SEED = 2023

Place = Literal["within", "beyond", "below", "unreachable", "flat"]


@dataclass(frozen=True)
class OffCurve:
    """``off``'s fitted curve for one set of other overrides (``label``: ``off, optim=sgd``).

    ``points``: (size, test error) of each job; ``resampled``: what the bootstrap draws at
    each size (``subsets``, or ``seeds`` where a size ran one subset)."""

    label: str
    others: tuple[str, ...]
    law: PowerLaw
    points: tuple[tuple[int, float], ...]
    resampled: str

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(sorted({s for s, _ in self.points}))


@dataclass(frozen=True)
class Rate:
    """How many real un-augmented images a setting's mean error at ``train_size`` is worth.

    ``real``: the n on ``off``'s fitted curve (None: unreachable or the curve does not
    fall); ``place``: ``within`` off's sizes, ``beyond`` its largest or ``below`` its
    smallest (both extrapolated), ``unreachable`` (error below the asymptote c) or ``flat``;
    ``low``/``high``: the bootstrap interval of ``real`` (``high`` inf: some resamples
    could not reach it); ``resampled``: what the setting's bootstrap drew."""

    setting: str
    train_size: int
    error: float
    real: float | None
    place: Place
    low: float | None
    high: float | None
    resampled: str

    @property
    def ratio(self) -> float | None:
        return None if self.real is None else self.real / self.train_size

    @property
    def extrapolated(self) -> bool:
        return self.place in ("beyond", "below")


@dataclass(frozen=True)
class FittedExchange:
    """The fitted ``off`` curves, the rates read off them, whether any ``off`` cell ran,
    and the ``off`` labels that ran at a single size (no curve to fit)."""

    curves: tuple[OffCurve, ...]
    rates: tuple[Rate, ...]
    has_off: bool
    single_size: tuple[str, ...] = ()
    resamples: int = RESAMPLES


def fitted_exchange(table_cells: Sequence[Cell], resamples: int = RESAMPLES) -> FittedExchange:
    """Fit ``off`` per set of other overrides; read every other setting's rate off it."""
    groups: dict[tuple[str, ...], list[Cell]] = {}
    for cell in table_cells:
        if cell.aug == OFF:
            groups.setdefault(cell.others, []).append(cell)
    curves, rates, single = [], [], []
    for others, off_cells in groups.items():
        label = ", ".join([OFF, *others])
        if len(off_cells) < 2:
            single.append(label)
            continue
        curve, boot = _fit_off(label, others, off_cells, resamples)
        curves.append(curve)
        for cell in table_cells:
            if cell.aug != OFF and cell.others == others:
                rates.append(_rate(curve, boot, cell, resamples))
    return FittedExchange(tuple(curves), tuple(rates), bool(groups), tuple(single), resamples)


def units(cell: Cell, values: Sequence[float]) -> tuple[np.ndarray, np.ndarray, str]:
    """The cell's resampling units: per subset when it ran several, else per job; each
    unit's sum of ``values`` (one per job) and its job count."""
    if len(cell.subset_seeds) > 1:
        keys = [j.subset_seed for j in cell.jobs]
        by = "subsets"
    else:
        keys = list(range(len(cell.jobs)))
        by = "seeds"
    index = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    sums, counts = np.zeros(len(index)), np.zeros(len(index))
    for key, value in zip(keys, values, strict=True):
        sums[index[key]] += value
        counts[index[key]] += 1
    return sums, counts, by


def _draw(
    rng: np.random.Generator, sums: np.ndarray, counts: np.ndarray, resamples: int
) -> tuple[np.ndarray, np.ndarray]:
    """Resampled totals: ``resamples`` draws of as many units, with replacement."""
    picks = rng.integers(0, len(sums), size=(resamples, len(sums)))
    return sums[picks].sum(axis=1), counts[picks].sum(axis=1)


def _fit_off(
    label: str, others: tuple[str, ...], off_cells: Sequence[Cell], resamples: int
) -> tuple[OffCurve, np.ndarray]:
    """The curve through every off job, and ``resamples`` refits over resampled subsets."""
    off_cells = sorted(off_cells, key=lambda c: c.train_size)
    points = tuple((c.train_size, 1.0 - a) for c in off_cells for a in c.accs)
    law = powerlaw.fit(np.array([s for s, _ in points]), np.array([e for _, e in points]))
    rng = np.random.default_rng([SEED, zlib.crc32(label.encode())])
    sizes = np.array([c.train_size for c in off_cells], dtype=float)
    log_sums, counts, kinds = [], [], set()
    for cell in off_cells:
        sums, n, by = units(cell, powerlaw.log_errors(1.0 - np.array(cell.accs)))
        drawn_sums, drawn_n = _draw(rng, sums, n, resamples)
        log_sums.append(drawn_sums)
        counts.append(drawn_n)
        kinds.add(by)
    total, n = np.stack(log_sums, axis=1), np.stack(counts, axis=1)
    boot = powerlaw.fit_rows(sizes, total / n, n, law.asymptote)
    resampled = " or ".join(sorted(kinds, reverse=True))
    return OffCurve(label, others, law, points, resampled), boot


def _rate(curve: OffCurve, boot: np.ndarray, cell: Cell, resamples: int) -> Rate:
    error = 1.0 - cell.mean
    law = curve.law
    point = np.array([np.log(law.a), law.b, law.c])
    (real,) = powerlaw.invert(point, error)
    rng = np.random.default_rng([SEED, zlib.crc32(cell.setting.encode()), cell.train_size])
    sums, counts, by = units(cell, [1.0 - a for a in cell.accs])
    drawn_sums, drawn_n = _draw(rng, sums, counts, resamples)
    reached = powerlaw.invert(boot, drawn_sums / drawn_n)
    low, high = percentile_interval(reached)
    return Rate(
        setting=cell.setting,
        train_size=cell.train_size,
        error=error,
        real=float(real) if np.isfinite(real) else None,
        place=_place(float(real), curve.sizes),
        low=low,
        high=high,
        resampled=by,
    )


def _place(real: float, sizes: Sequence[int]) -> Place:
    if np.isnan(real):
        return "flat"
    if np.isinf(real):
        return "unreachable"
    if real > sizes[-1]:
        return "beyond"
    return "below" if real < sizes[0] else "within"


def percentile_interval(
    values: np.ndarray, level: float = 0.95
) -> tuple[float | None, float | None]:
    """The percentile interval of the resampled values (NaN left out; +inf kept as the
    resamples no size reaches); None without a value."""
    kept = np.sort(values[~np.isnan(values)])
    if not len(kept):
        return None, None
    tail = (1 - level) / 2
    low = kept[int(np.floor(tail * (len(kept) - 1)))]
    high = kept[int(np.ceil((1 - tail) * (len(kept) - 1)))]
    return float(low), float(high)
