"""Make the report of one sweep dir: read its jobs, analyse them, write the files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auglab import atomic, plots
from auglab.plan import PlannedJob, planned_jobs
from auglab.record import JobRecord, selection_metric, sweep_records
from auglab.report.analysis import Cell, cells, exchange_rates, other_keys, under_shift
from auglab.report.markdown import REPORT_MD, REPORT_PNG, report_markdown
from auglab.summary import job_overrides, write_summary

#: Planned jobs that are in the results (finished) or listed as failed (failed, diverged).
_ENDED = ("finished", "failed", "diverged")


@dataclass
class Report:
    """What ``make_report`` wrote: the markdown, the summary table, and the tables by name
    (rows of plain values, also logged to the W&B report run). ``jobs``: the records shown,
    in job order, with a stand-in (status ``running``, ``error`` its state) for each
    unfinished planned job; ``planned``: the plan's jobs, None for a sweep dir without one."""

    text: str
    summary: str | None
    tables: dict[str, list[dict[str, Any]]]
    png: Path
    jobs: list[JobRecord]
    select: str | None = None
    planned: list[PlannedJob] | None = None


def shown_jobs(sweep_dir: Path) -> tuple[list[JobRecord], list[PlannedJob] | None]:
    """The records the summary and the report show, and the plan's jobs (None: no plan).

    With a plan: exactly its jobs, in its order (``PlannedJob.as_record``). Without one
    (sweep dirs from before plans): every record in the sweep dir.
    """
    planned = planned_jobs(Path(sweep_dir))
    if planned is None:
        return [record for _, record in sweep_records(Path(sweep_dir))], None
    return [job.as_record() for job in planned], planned


def make_report(
    sweep_dir: Path, with_summary: bool = True, select: str | None = None
) -> Report | None:
    """Write ``report.md``/``report.png`` (and the summary); None if there is no job to show."""
    sweep_dir = Path(sweep_dir)
    select = selection_metric(select)
    jobs, planned = shown_jobs(sweep_dir)
    if not jobs:
        return None
    summary = write_summary(sweep_dir, jobs) if with_summary else None
    finished = [j for j in jobs if j.ok]
    failed = [j for j in jobs if j.status in ("failed", "diverged")]
    missing = None if planned is None else [p for p in planned if p.state not in _ENDED]
    table_cells = cells(finished, select)
    shifted = under_shift(finished, select)
    exchange: dict[str, list[tuple[float, float, str | None]]] = {}
    for r in exchange_rates(table_cells):
        exchange.setdefault(r.setting, []).append((r.train_size, r.limit, r.bound))
    figure = plots.sweep_report_figure(
        _lines(table_cells), exchange, None if shifted is None else _lines(shifted.cells)
    )
    png = plots.save_png(figure, sweep_dir / REPORT_PNG)
    text, tables = report_markdown(
        sweep_dir,
        table_cells,
        len(finished),
        missing,
        failed,
        select,
        tuned=other_keys(job_overrides(finished), select),
        shifted=shifted,
    )
    atomic.write_text(sweep_dir / REPORT_MD, text)
    return Report(text, summary, tables, png, jobs, select, planned)


def _lines(table_cells: list[Cell]) -> dict[str, list[tuple[float, float, float | None]]]:
    """The plot's points: per setting, (size, mean, std) of each of its cells."""
    lines: dict[str, list[tuple[float, float, float | None]]] = {}
    for c in table_cells:
        lines.setdefault(c.setting, []).append((c.train_size, c.mean, c.std))
    return lines


def write_report(
    sweep_dir: Path, with_summary: bool = True, select: str | None = None
) -> str | None:
    """Write ``report.md``/``report.png`` (and the summary); the report, None if no job to show."""
    report = make_report(sweep_dir, with_summary, select)
    return None if report is None else report.text
