"""What the report concludes, as plain data: settings, their cells, the comparisons to
``off``, the exchange rates and the split of each cell's spread into subset and seed. No
formatting here, so the markdown, the figure and the W&B tables all read the same numbers.

Under shift (``under_shift``), the same code reads the jobs' accuracy on the corruption
suite (``JobRecord.shift``) in place of their clean test accuracy.

A job's draws are its (subset seed, seed) (``JobRecord.draws``): a cell averages over all
of them, and two settings are compared job by job with the same draws."""

from __future__ import annotations

import logging
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from auglab.record import JobRecord, selection_metric
from auglab.stats import (
    Bound,
    Interval,
    VarianceSplit,
    equivalent_size,
    monotone_curve,
    paired,
    t_interval,
    variance_split,
)
from auglab.summary import job_overrides, parse_override, varying_keys

log = logging.getLogger(__name__)

#: Overrides that place a job on the plot (x, line, draws) rather than name another setting.
PLACED_BY = ("data.size", "seed", "aug", "data.synthetic_size", "data.subset_seed")
#: Placed on the plot unless a selection tunes it: each preset then runs at its best strength.
TUNED_BY_SELECT = ("aug.strength",)
#: The reference setting: no augmentation, real images only.
OFF = "off"


@dataclass(frozen=True)
class Cell:
    """The jobs of one setting at one training-set size: one point of the plot.

    ``setting`` is the full label: the augmentation (``aug``) plus any other override
    the jobs differ in (``others``, e.g. ``optim=sgd``). With a selection, ``chosen``
    names, for each job, the values of the tuned overrides it was chosen for.
    """

    setting: str
    train_size: int
    jobs: tuple[JobRecord, ...]
    aug: str = ""
    others: tuple[str, ...] = ()
    chosen: tuple[str, ...] = ()

    @property
    def accs(self) -> tuple[float, ...]:
        return tuple(float(j.test_acc) for j in self.jobs)

    @property
    def losses(self) -> tuple[float, ...]:
        return tuple(float(j.test_loss) for j in self.jobs if j.test_loss is not None)

    @property
    def seeds(self) -> tuple[Any, ...]:
        return tuple(j.seed for j in self.jobs)

    @property
    def subset_seeds(self) -> tuple[int | None, ...]:
        """The distinct subset seeds of its jobs (None: the fixed slices), in job order."""
        return tuple(dict.fromkeys(j.subset_seed for j in self.jobs))

    @property
    def mean(self) -> float:
        return statistics.fmean(self.accs)

    @property
    def std(self) -> float | None:
        """Sample standard deviation over its runs; None for a single run."""
        return statistics.stdev(self.accs) if len(self.accs) > 1 else None

    @property
    def interval(self) -> Interval:
        return t_interval(self.accs)

    def by_draws(self) -> dict[tuple[int | None, Any], JobRecord]:
        """The job of each (subset seed, seed) (the first, should one appear twice)."""
        found: dict[tuple[int | None, Any], JobRecord] = {}
        for job in self.jobs:
            if job.seed is not None:
                found.setdefault(job.draws, job)
        return found

    def spread(self) -> VarianceSplit | None:
        """Its test accuracy's variance split into subset, seed and residual; None unless
        it ran at least 2 subsets x 2 seeds."""
        return variance_split({k: float(j.test_acc) for k, j in self.by_draws().items()})


@dataclass(frozen=True)
class Comparison:
    """A setting against ``off`` at the same size and other overrides, paired by draws."""

    cell: Cell
    base: Cell | None
    # (subset seed, seed) -> test acc difference
    diffs: dict[tuple[int | None, Any], float] = field(default_factory=dict)

    @property
    def interval(self) -> Interval | None:
        return t_interval(list(self.diffs.values())) if self.diffs else None

    def class_diffs(self) -> dict[int, float] | None:
        """Per class index: mean over paired draws of the test-accuracy difference.

        None when no pair has per-class accuracies recorded on both sides.
        """
        if self.base is None:
            return None
        ours, theirs = self.cell.by_draws(), self.base.by_draws()
        sums: dict[int, list[float]] = {}
        recorded = False
        for draws in self.diffs:
            a, b = ours[draws].test_class_acc, theirs[draws].test_class_acc
            if a is None or b is None or len(a) != len(b):
                continue
            recorded = True
            for c, (x, y) in enumerate(zip(a, b, strict=True)):
                if x is not None and y is not None:
                    sums.setdefault(c, []).append(float(x) - float(y))
        if not recorded:
            return None
        return {c: statistics.fmean(values) for c, values in sorted(sums.items())}

    def class_name(self, index: int) -> str:
        """The recorded class name (older records have none: the index)."""
        jobs = self.cell.jobs + (self.base.jobs if self.base else ())
        names = next((j.class_names for j in jobs if j.class_names), None)
        return str(names[index]) if names and index < len(names) else str(index)


@dataclass(frozen=True)
class Exchange:
    """How many real un-augmented images one setting's mean accuracy at one size is worth."""

    setting: str
    train_size: int
    real: float | None  # interpolated size on off's curve; None when out of its range
    bound: Bound | None  # "beyond" off's largest size, or "below" its smallest
    limit: float  # off's largest (beyond) or smallest (below) size, else ``real``

    @property
    def ratio(self) -> float | None:
        return None if self.real is None else self.real / self.train_size


def setting_label(job: JobRecord, with_strength: bool = True) -> str:
    """``off``, ``on``, ``on x0.5`` (strength), plus `` synthetic N``; from the record.

    ``with_strength=False`` (a selection that tunes the strength): ``on`` at any strength.
    Older files lack ``aug``/``aug_strength``/``synthetic_size``: the job's
    overrides stand in, then the defaults of ``conf/train.yaml`` (aug off, strength 1).
    """
    overrides = dict(parse_override(o) for o in job.overrides)
    aug = job.aug or overrides.get("aug") or "off"
    strength = job.aug_strength if job.aug_strength is not None else overrides.get("aug.strength")
    strength = 1.0 if strength in (None, "", "null") else float(strength)
    if aug == "off" or strength == 0:
        label = OFF
    elif strength == 1 or not with_strength:
        label = str(aug)
    else:
        label = f"{aug} x{strength:g}"
    synthetic = (
        job.synthetic_size
        if job.synthetic_size is not None
        else overrides.get("data.synthetic_size")
    )
    if synthetic not in (None, "", "null"):
        label += f" synthetic {int(float(synthetic))}"
    return label


def cells(jobs: Sequence[JobRecord], select: str | None = None) -> list[Cell]:
    """Finished jobs grouped by setting and training-set size; a group's draws (subset
    seeds and seeds) are averaged.

    Any other override the jobs differ in (``optim=sgd``...) is part of the setting,
    so runs of different recipes are never averaged together. Failed and diverged
    jobs have no accuracy to average: they are left out (the report lists them).

    With ``select`` (a validation metric), those other overrides are tuned instead:
    for each setting, size and draws the job with the best ``select`` value stands for
    all of them (ties: the earlier job), and ``Cell.chosen`` says which values won.
    A selection also tunes each preset's ``aug.strength`` (``TUNED_BY_SELECT``) where
    it varies; ``off`` has nothing to scale, so no strength is ever chosen for it.
    """
    jobs = [j for j in jobs if j.ok]
    overrides = job_overrides(jobs)
    select = selection_metric(select)
    other = other_keys(overrides, select)
    tunes_strength = any(k in TUNED_BY_SELECT for k in other)
    entries: list[tuple[JobRecord, str, tuple[str, ...]]] = []
    for job, job_values in zip(jobs, overrides, strict=True):
        if job.train_size is None or job.test_acc is None:
            log.warning("Job %s has no train_size or test_acc: left out", job.job_num)
            continue
        label = setting_label(job, with_strength=not tunes_strength)
        keys = [k for k in other if k in job_values and not (label == OFF and k in TUNED_BY_SELECT)]
        values = tuple(f"{k}={job_values[k]}" for k in keys)
        entries.append((job, label, values))
    groups: dict[tuple[str, tuple[str, ...], int], list[tuple[JobRecord, str]]] = {}
    if select is None or not other:
        for job, aug, values in entries:
            groups.setdefault((aug, values, int(job.train_size)), []).append((job, ""))
    else:
        for (aug, size), picks in _select(entries, select).items():
            groups[aug, (), size] = picks
    result = [
        Cell(
            setting=", ".join([aug, *values]),
            train_size=size,
            jobs=tuple(job for job, _ in group),
            aug=aug,
            others=values,
            chosen=tuple(chosen for _, chosen in group) if select and other else (),
        )
        for (aug, values, size), group in groups.items()
    ]
    return sorted(result, key=lambda c: (c.aug != OFF, c.setting, c.train_size))


def other_keys(overrides: Sequence[dict[str, str]], select: str | None = None) -> list[str]:
    """Swept keys that name another recipe (``optim.lr``), not a place on the plot; with a
    selection also the strength (``TUNED_BY_SELECT``), tuned like any other."""
    tuned = TUNED_BY_SELECT if selection_metric(select) else ()
    return [k for k in varying_keys(overrides) if k in tuned or not k.startswith(PLACED_BY)]


def _select(
    entries: Sequence[tuple[JobRecord, str, tuple[str, ...]]], metric: str
) -> dict[tuple[str, int], list[tuple[JobRecord, str]]]:
    """Per (setting, size): for each draws, the job whose ``metric`` is best, and its values."""
    higher = "loss" not in metric
    candidates: dict[tuple[str, int, Any], list[tuple[JobRecord, str]]] = {}
    for job, aug, values in entries:
        key = (aug, int(job.train_size), job.draws)
        if job.metric(metric) is None:
            log.warning("Job %s has no %s: it cannot be chosen", job.job_num, metric)
            continue
        candidates.setdefault(key, []).append((job, " ".join(values) or "defaults"))
    picked: dict[tuple[str, int], list[tuple[JobRecord, str]]] = {}
    for (aug, size, _draws), group in candidates.items():
        best = max(group, key=lambda item: item[0].metric(metric) * (1 if higher else -1))
        picked.setdefault((aug, size), []).append(best)
    return picked


def comparisons(table_cells: Sequence[Cell]) -> list[Comparison]:
    """Each setting other than ``off`` against ``off`` at its size and other overrides."""
    bases = {(c.others, c.train_size): c for c in table_cells if c.aug == OFF}
    result = []
    for cell in table_cells:
        if cell.aug == OFF:
            continue
        base = bases.get((cell.others, cell.train_size))
        diffs: dict[tuple[int | None, Any], float] = {}
        if base is not None:
            ours = {draws: float(j.test_acc) for draws, j in cell.by_draws().items()}
            theirs = {draws: float(j.test_acc) for draws, j in base.by_draws().items()}
            diffs = paired(ours, theirs)
        result.append(Comparison(cell, base, diffs))
    return result


def varies_subsets(table_cells: Sequence[Cell]) -> bool:
    """Whether some cell ran more than one training subset (``data.subset_seed``)."""
    return any(len(c.subset_seeds) > 1 for c in table_cells)


def spreads(table_cells: Sequence[Cell]) -> list[tuple[Cell, VarianceSplit]]:
    """Each cell's subset / seed / residual split, where it ran a 2 x 2 grid or more."""
    found = [(c, c.spread()) for c in table_cells]
    return [(c, split) for c, split in found if split is not None]


def off_curves(table_cells: Sequence[Cell]) -> dict[tuple[str, ...], list[tuple[float, float]]]:
    """``off``'s non-decreasing accuracy curve for each set of other overrides."""
    points: dict[tuple[str, ...], list[Cell]] = {}
    for cell in table_cells:
        if cell.aug == OFF:
            points.setdefault(cell.others, []).append(cell)
    return {
        others: monotone_curve(
            [(c.train_size, c.mean) for c in group], [len(c.jobs) for c in group]
        )
        for others, group in points.items()
    }


def exchange_rates(table_cells: Sequence[Cell]) -> list[Exchange]:
    """For each setting and size: the real un-augmented images its mean accuracy is worth."""
    curves = off_curves(table_cells)
    result = []
    for cell in table_cells:
        curve = curves.get(cell.others)
        if cell.aug == OFF or curve is None:
            continue
        real = equivalent_size(curve, cell.mean)
        if real == "beyond":
            result.append(Exchange(cell.setting, cell.train_size, None, "beyond", curve[-1][0]))
        elif real == "below":
            result.append(Exchange(cell.setting, cell.train_size, None, "below", curve[0][0]))
        else:
            result.append(Exchange(cell.setting, cell.train_size, real, None, real))
    return result


@dataclass(frozen=True)
class Shifted:
    """The sweep's finished jobs on one corruption suite.

    ``cells`` are ``cells()`` of the jobs seen as if the suite were their test set
    (``shift_view``): a job's test accuracy is its mean over the corruptions, its per-class
    fields are per corruption. So the paired differences to ``off``, the exchange rates and
    the corruptions helped and hurt most are the clean test set's own code, read on the
    shifted accuracy. ``left_out``: finished jobs without results of this suite.
    """

    suite: str
    seed: int
    severity: dict[str, int]
    corruptions: tuple[str, ...]
    sources: tuple[str, ...]
    cells: list[Cell]
    evaluated: int
    left_out: int

    def corruption_means(self, cell: Cell) -> dict[str, float | None]:
        """Each corruption's accuracy, the mean over the cell's jobs."""
        found: dict[str, float | None] = {}
        for i, name in enumerate(self.corruptions):
            values = [j.test_class_acc[i] for j in cell.jobs if j.test_class_acc]
            present = [float(v) for v in values if v is not None]
            found[name] = statistics.fmean(present) if present else None
        return found

    @staticmethod
    def clean_mean(cell: Cell) -> float | None:
        """The cell's jobs' clean test accuracy, as measured with the suite."""
        values = [j.shift.get("clean_acc") for j in cell.jobs if j.shift]
        present = [float(v) for v in values if v is not None]
        return statistics.fmean(present) if present else None


def _suite_key(job: JobRecord) -> tuple[Any, ...]:
    shift = job.shift or {}
    return (
        shift.get("suite"),
        shift.get("seed"),
        tuple(sorted((shift.get("severity") or {}).items())),
    )


def shift_view(job: JobRecord, corruptions: Sequence[str]) -> JobRecord:
    """``job`` as if the suite were its test set: ``test_acc`` is the suite's mean, the
    per-class accuracies and names are per corruption; no clean loss."""
    shift = job.shift or {}
    acc = shift.get("acc") or {}
    return replace(
        job,
        test_acc=shift.get("mean_acc"),
        test_loss=None,
        test_class_acc=[acc.get(name) for name in corruptions],
        class_names=list(corruptions),
    )


def under_shift(jobs: Sequence[JobRecord], select: str | None = None) -> Shifted | None:
    """The finished jobs' shift results, as cells; None when no finished job has any.

    Jobs evaluated on different suites (another seed or severity) are never averaged
    together: the suite most jobs ran is shown, the others counted in ``left_out``."""
    finished = [j for j in jobs if j.ok]
    evaluated = [
        j for j in finished if isinstance(j.shift, dict) and j.shift.get("mean_acc") is not None
    ]
    if not evaluated:
        return None
    suite = Counter(_suite_key(j) for j in evaluated).most_common(1)[0][0]
    chosen = [j for j in evaluated if _suite_key(j) == suite]
    first = chosen[0].shift
    names = tuple(first.get("corruptions") or sorted(first.get("acc") or {}))
    sources = tuple(dict.fromkeys(str(j.shift.get("source")) for j in chosen))
    return Shifted(
        suite=str(first.get("suite")),
        seed=int(first.get("seed") or 0),
        severity=dict(first.get("severity") or {}),
        corruptions=names,
        sources=sources,
        cells=cells([shift_view(j, names) for j in chosen], select),
        evaluated=len(chosen),
        left_out=len(finished) - len(chosen),
    )
