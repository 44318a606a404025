"""Make the report of one sweep dir, top-down: load its jobs, analyse them once, render the
result as each output (``summary.*``, ``report.png``, ``report.md``, the tables by name)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from auglab import atomic, plots
from auglab.plan import PlannedJob, planned_jobs, read_plan
from auglab.record import JobRecord, selection_metric, sweep_records
from auglab.report.analysis import analyse
from auglab.report.exchange_fit import FittedExchange
from auglab.report.markdown import REPORT_MD, REPORT_PNG, report_markdown
from auglab.report.result import CellResult, SweepResult
from auglab.report.summary_table import write_summary
from auglab.report.tables import report_tables


@dataclass
class Report:
    """What ``make_report`` wrote: the markdown, the summary table, and the tables by name
    (rows of plain values, also logged to the W&B report run). ``jobs``: the records shown,
    in job order, with a stand-in (status ``running``, ``error`` its state) for each
    unfinished planned job; ``planned``: the plan's jobs, None for a sweep dir without one;
    ``result``: the analysis all of them render."""

    text: str
    summary: str | None
    tables: dict[str, list[dict[str, Any]]]
    png: Path
    jobs: list[JobRecord]
    result: SweepResult
    select: str | None = None
    planned: list[PlannedJob] | None = None


def shown_jobs(
    sweep_dir: Path, whole_plan: bool = False
) -> tuple[list[JobRecord], list[PlannedJob] | None]:
    """The records the summary and the report show, and the plan's jobs (None: no plan).

    With a plan: exactly its latest grid's jobs, in its order (``PlannedJob.as_record``);
    ``whole_plan``: every job ever planned into the dir (a study run as several sweeps,
    each with its own grid), in job order. Without a plan (sweep dirs from before plans):
    every record in the sweep dir.
    """
    plan = read_plan(Path(sweep_dir))
    if plan is not None and whole_plan:
        plan = plan.whole()
    planned = planned_jobs(Path(sweep_dir), plan)
    if planned is None:
        return [record for _, record in sweep_records(Path(sweep_dir))], None
    return [job.as_record() for job in planned], planned


def make_report(
    sweep_dir: Path, with_summary: bool = True, select: str | None = None, whole_plan: bool = False
) -> Report | None:
    """Write ``report.md``/``report.png`` (and the summary); None if there is no job to show.
    ``whole_plan``: every job the plan ever held, not only its latest grid's."""
    sweep_dir = Path(sweep_dir)
    select = selection_metric(select)  # a wrong name fails before anything is read
    jobs, planned = shown_jobs(sweep_dir, whole_plan)
    if not jobs:
        return None
    result = analyse(sweep_dir.name, jobs, planned, select)
    summary = write_summary(sweep_dir, result.summary) if with_summary else None
    png = write_png(result, sweep_dir / REPORT_PNG)
    text = report_markdown(result)
    atomic.write_text(sweep_dir / REPORT_MD, text)
    return Report(text, summary, report_tables(result), png, jobs, result, result.select, planned)


def write_png(result: SweepResult, path: Path) -> Path:
    """``report.png``: accuracy by size, the exchange rates, off's fitted learning curve
    (when there is one), and accuracy under shift."""
    fitted = result.compared.exchange
    exchange: dict[str, list[tuple[float, float, str | None]]] = {}
    for r in fitted.rates:
        if r.real is not None:
            mark = "extrapolated" if r.extrapolated else None
            exchange.setdefault(r.setting, []).append((r.train_size, r.real, mark))
        elif r.place == "unreachable":
            largest = max(c.sizes[-1] for c in fitted.curves)
            exchange.setdefault(r.setting, []).append((r.train_size, largest, "unreachable"))
    shifted = None if result.shifted is None else [s.cell for s in result.shifted.cells]
    figure = plots.sweep_report_figure(
        _lines(result.cells),
        exchange,
        None if shifted is None else _lines(shifted),
        _curves(fitted) if fitted.curves else None,
    )
    return plots.save_png(figure, path)


def _curves(fitted: FittedExchange) -> dict[str, tuple[list, list]]:
    """Each off curve's job points and 50 points of its fit across its sizes (log-spaced)."""
    found = {}
    for curve in fitted.curves:
        sizes = np.geomspace(curve.sizes[0], curve.sizes[-1], 50)
        line = list(zip(sizes.tolist(), np.asarray(curve.law.error(sizes)).tolist(), strict=True))
        found[curve.label] = (list(curve.points), line)
    return found


def _lines(cells: Sequence[CellResult]) -> dict[str, list[tuple[float, float, float | None]]]:
    """The plot's points: per setting, (size, mean, std) of each of its cells."""
    lines: dict[str, list[tuple[float, float, float | None]]] = {}
    for c in cells:
        lines.setdefault(c.setting, []).append((c.train_size, c.mean, c.std))
    return lines


def write_report(
    sweep_dir: Path, with_summary: bool = True, select: str | None = None
) -> str | None:
    """Write ``report.md``/``report.png`` (and the summary); the report, None if no job to show."""
    report = make_report(sweep_dir, with_summary, select)
    return None if report is None else report.text
