"""Analyse a sweep's jobs once, into the one result every output renders (``SweepResult``):
cells, paired differences to ``off``, exchange rates, the subset / seed split, the same
under shift, and the summary table. Nothing here formats; nothing after it computes."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence

from auglab.plan import PlannedJob
from auglab.record import JobRecord, selection_metric
from auglab.report.cells import Cell, cells, other_keys, setting_keys
from auglab.report.edges import edge_flags
from auglab.report.effects import Comparison, comparisons, spreads, top_classes, varies_subsets
from auglab.report.exchange_fit import fitted_exchange
from auglab.report.head_to_head import head_to_head, val_mean
from auglab.report.overrides import job_overrides
from auglab.report.result import (
    CellResult,
    ClassEffects,
    Comparisons,
    Difference,
    ShiftCell,
    ShiftResult,
    Spread,
    SpreadPart,
    SweepResult,
)
from auglab.report.shifted import Shifted, under_shift
from auglab.report.summary_table import summary_table
from auglab.stats import by_unit, t_interval

#: Planned jobs that are in the results (finished) or listed as failed (failed, diverged).
ENDED = ("finished", "failed", "diverged")


def analyse(
    name: str,
    jobs: Sequence[JobRecord],
    planned: Sequence[PlannedJob] | None = None,
    select: str | None = None,
) -> SweepResult:
    """The report of the sweep dir ``name``: ``jobs`` are the records it shows (stand-ins for
    unfinished planned jobs included), ``planned`` its plan's jobs (None: no plan), and
    ``select`` the validation metric other swept keys are tuned on (None: no tuning)."""
    select = selection_metric(select)
    finished = [j for j in jobs if j.ok]
    failed = tuple(j for j in jobs if j.status in ("failed", "diverged"))
    missing = None if planned is None else tuple(p for p in planned if p.state not in ENDED)
    table_cells = cells(finished, select)
    shifted = under_shift(finished, select)
    return SweepResult(
        name=name,
        select=select,
        tuned=tuple(other_keys(job_overrides(finished), select)),
        finished=len(finished),
        expected=None if missing is None else len(finished) + len(missing) + len(failed),
        by_subset=varies_subsets(table_cells),
        cells=tuple(cell_result(c) for c in table_cells),
        compared=compare(table_cells),
        spreads=tuple(spread_results(table_cells)),
        shifted=None if shifted is None else shift_result(shifted),
        missing=missing,
        failed=failed,
        summary=summary_table(jobs),
        setting_keys=tuple(setting_keys(jobs, select)),
        n_classes=max((len(j.test_class_acc or ()) for j in finished), default=0),
        head_to_head=head_to_head(table_cells),
        edges=tuple(edge_flags(table_cells)),
    )


def cell_result(cell: Cell) -> CellResult:
    """The cell's numbers; its interval over the subset means when it ran several subsets
    (n_subsets - 1 degrees of freedom), else over its jobs."""
    values, by = by_unit([(j.subset_seed, float(j.test_acc)) for j in cell.jobs])
    return CellResult(
        setting=cell.setting,
        train_size=cell.train_size,
        mean=cell.mean,
        std=cell.std,
        interval=t_interval(values),
        loss=statistics.fmean(cell.losses) if cell.losses else None,
        runs=len(cell.accs),
        seeds=len(set(cell.seeds)),
        subsets=len(cell.subset_seeds),
        chosen=tuple(Counter(cell.chosen).most_common()),
        interval_by=by,
        val_mean=val_mean(cell),
    )


def compare(table_cells: Sequence[Cell]) -> Comparisons:
    """Each setting against ``off``, and the exchange rates (computed once)."""
    differences = tuple(difference(c) for c in comparisons(table_cells))
    return Comparisons(differences, fitted_exchange(table_cells))


def difference(comp: Comparison) -> Difference:
    diffs = comp.class_diffs()
    classes = None
    if diffs is not None:
        hurt, helped = top_classes(comp, diffs)
        classes = ClassEffects(tuple(hurt), tuple(helped))
    interval, by = None, "seeds"
    if comp.diffs:
        values, by = by_unit([(draws[0], d) for draws, d in comp.diffs.items()])
        interval = t_interval(values)
    return Difference(
        setting=comp.cell.setting,
        train_size=comp.cell.train_size,
        has_base=comp.base is not None,
        pairs=len(comp.diffs),
        interval=interval,
        classes=classes,
        interval_by=by,
    )


def spread_results(table_cells: Sequence[Cell]) -> list[Spread]:
    """The subset / seed / residual split of each cell that ran a 2 x 2 grid or more."""
    found = []
    for cell, split in spreads(table_cells):
        parts = {"subset": split.subset, "seed": split.seed, "residual": split.residual}
        found.append(
            Spread(
                setting=cell.setting,
                train_size=cell.train_size,
                n_subsets=split.n_subsets,
                n_seeds=split.n_seeds,
                parts=tuple(
                    SpreadPart(name, var, math.sqrt(var), split.share(var))
                    for name, var in parts.items()
                ),
            )
        )
    return found


def shift_result(shifted: Shifted) -> ShiftResult:
    shift_cells = []
    for c in shifted.cells:
        clean = shifted.clean_mean(c)
        shift_cells.append(
            ShiftCell(
                cell=cell_result(c),
                clean=clean,
                drop=None if clean is None else clean - c.mean,
                corruptions=tuple(shifted.corruption_means(c).values()),
            )
        )
    return ShiftResult(
        suite=shifted.suite,
        seed=shifted.seed,
        severity=shifted.severity,
        corruptions=shifted.corruptions,
        sources=shifted.sources,
        evaluated=shifted.evaluated,
        left_out=shifted.left_out,
        cells=tuple(shift_cells),
        compared=compare(shifted.cells),
    )
