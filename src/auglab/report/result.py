"""The sweep report as one typed result: everything ``report.md``, ``report.png``, the W&B
report run and the W&B Report show, computed once by ``auglab.report.analysis``.

Renderers only read it: every mean, interval, paired test, exchange rate and ranking is
already here, so the four outputs can never disagree on a number."""

from __future__ import annotations

from dataclasses import dataclass

from auglab.plan import PlannedJob
from auglab.record import JobRecord
from auglab.report.edges import EdgeFlag
from auglab.report.exchange_fit import FittedExchange
from auglab.report.head_to_head import HeadToHead
from auglab.report.summary_table import SummaryTable
from auglab.stats import Interval


@dataclass(frozen=True)
class CellResult:
    """One setting at one training-set size: its test accuracy over its draws.

    ``runs``: its jobs; ``seeds``/``subsets``: the distinct seeds and subset seeds among
    them; ``loss``: the mean test loss of the jobs that recorded one; ``chosen``: with a
    selection, each tuned value and how many draws chose it, most chosen first;
    ``interval_by``: what the interval is over (``subsets``: the subset means, or
    ``seeds``: the jobs); ``val_mean``: the jobs' mean validation accuracy."""

    setting: str
    train_size: int
    mean: float
    std: float | None
    interval: Interval
    loss: float | None
    runs: int
    seeds: int
    subsets: int
    chosen: tuple[tuple[str, int], ...] = ()
    interval_by: str = "seeds"
    val_mean: float | None = None


@dataclass(frozen=True)
class ClassEffects:
    """The classes (or corruptions) a setting hurts and helps most: (name, mean paired
    difference), largest effect first."""

    hurt: tuple[tuple[str, float], ...]
    helped: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Difference:
    """A setting against ``off`` at the same size and other overrides, paired by draws.

    ``interval``: of the paired differences, None without a pair (``has_base`` says
    whether ``off`` ran there at all); ``classes``: None when no pair recorded per-class
    accuracies on both sides; ``interval_by``: ``subsets`` (the per-subset mean
    differences) or ``seeds`` (the pairs, on one subset)."""

    setting: str
    train_size: int
    has_base: bool
    pairs: int
    interval: Interval | None
    classes: ClassEffects | None
    interval_by: str = "seeds"


@dataclass(frozen=True)
class SpreadPart:
    """One variance component: its variance, standard deviation and share of the total
    (None when every run gave the same result)."""

    name: str
    variance: float
    sd: float
    share: float | None


@dataclass(frozen=True)
class Spread:
    """A cell's test accuracy variance split into subset, seed and residual."""

    setting: str
    train_size: int
    n_subsets: int
    n_seeds: int
    parts: tuple[SpreadPart, ...]


@dataclass(frozen=True)
class Comparisons:
    """The settings against ``off``: paired differences (with per-class effects) and the
    exchange rates read off ``off``'s fitted curve; the same for the clean test set and
    under shift."""

    differences: tuple[Difference, ...]
    exchange: FittedExchange


@dataclass(frozen=True)
class ShiftCell:
    """A cell under shift: its shifted accuracy (``cell``), the same jobs' clean accuracy,
    the drop from clean to shifted, and each corruption's mean accuracy."""

    cell: CellResult
    clean: float | None
    drop: float | None
    corruptions: tuple[float | None, ...]


@dataclass(frozen=True)
class ShiftResult:
    """The finished jobs on one corruption suite (``auglab.report.shifted.Shifted``)."""

    suite: str
    seed: int
    severity: dict[str, int]
    corruptions: tuple[str, ...]
    sources: tuple[str, ...]
    evaluated: int
    left_out: int
    cells: tuple[ShiftCell, ...]
    compared: Comparisons


@dataclass(frozen=True)
class SweepResult:
    """Everything the report says about one sweep dir.

    ``expected``: the plan's job count (None: no plan); ``missing``: the planned jobs
    neither finished, failed nor diverged (None: no plan); ``by_subset``: some cell ran
    several training subsets; ``tuned``: the keys ``select`` chose among;
    ``setting_keys``: the config keys W&B groups the runs by; ``n_classes``: the most
    per-class accuracies a finished job recorded; ``head_to_head``: the setting validation
    picks at each size and the Holm-corrected tests among the leading settings;
    ``edges``: tuned strengths whose picks crowd the edge of their grid."""

    name: str
    select: str | None
    tuned: tuple[str, ...]
    finished: int
    expected: int | None
    by_subset: bool
    cells: tuple[CellResult, ...]
    compared: Comparisons
    spreads: tuple[Spread, ...]
    shifted: ShiftResult | None
    missing: tuple[PlannedJob, ...] | None
    failed: tuple[JobRecord, ...]
    summary: SummaryTable | None
    setting_keys: tuple[str, ...]
    n_classes: int
    head_to_head: HeadToHead = HeadToHead((), ())
    edges: tuple[EdgeFlag, ...] = ()
