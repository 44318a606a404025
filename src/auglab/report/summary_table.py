"""One table for a whole sweep: ``summary.csv`` and ``summary.md`` in the sweep dir.

One row per job (``auglab.record``), failed and diverged jobs included, with their
``status`` and ``error``; the overrides every job shares are said once above. A job that
has not ended shows its state instead (``running elsewhere``, ``not started``...: the
stand-in records of ``auglab.plan.PlannedJob.as_record``), never a failure.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabulate import tabulate

from auglab import atomic
from auglab.record import JobRecord
from auglab.report.overrides import job_overrides, varying_keys

#: Record fields shown for every job, with their column names.
METRIC_COLUMNS = {
    "status": "status",
    "test_acc": "test_acc",
    "test_loss": "test_loss",
    "val_acc_best": "val_acc_best",
    "train_size": "train_size",
    "epochs": "epochs",
    "optimizer_steps": "optimizer_steps",
    "train_images_seen": "train_images_seen",
    "fit_seconds": "fit_s",
    "train_images_per_second": "img_per_s",
    "seed": "seed",
}

#: Record field -> (column, the override that sets it): shown only where the jobs
#: differ, and not when that override is already a swept column.
VARYING_COLUMNS = {
    "aug": ("aug", "aug"),
    "aug_strength": ("aug_strength", "aug.strength"),
    "reg": ("reg", "reg"),
    "reg_strength": ("reg_strength", "reg.strength"),
    "val_size": ("val_size", "data.val_size"),
    "subset_seed": ("subset_seed", "data.subset_seed"),
    "synthetic_size": ("synthetic_size", "data.synthetic_size"),
    "samples_per_epoch": ("samples_per_epoch", "data.samples_per_epoch"),
}

FLOAT_FORMATS = {
    "test_acc": ".4f",
    "test_loss": ".4f",
    "val_acc_best": ".4f",
    "fit_s": ".1f",
    "img_per_s": ".0f",
}


def summary_rows(records: Sequence[JobRecord]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One row per job: its swept values, then its results; plus the overrides all jobs share."""
    overrides = job_overrides(records)
    swept = varying_keys(overrides) if len(records) > 1 else []
    keys = dict.fromkeys(k for o in overrides for k in o)
    common = {k: overrides[0][k] for k in keys if k not in swept and len(records) > 1}
    columns = dict(METRIC_COLUMNS)
    for key, (name, override) in VARYING_COLUMNS.items():
        values = {json.dumps(getattr(r, key)) for r in records if r.ok}
        if len(values) > 1 and override not in swept and name not in swept:
            columns[key] = name
    rows = []
    for record, job in zip(records, overrides, strict=True):
        row: dict[str, Any] = {"job": record.job_num}
        row.update({k: job.get(k, "") for k in swept})
        row.update({name: getattr(record, key) for key, name in columns.items()})
        row["status"] = job_state(record)
        failed = record.ended and not record.ok
        row["error"] = f"{record.stage or '?'}: {record.error or ''}" if failed else ""
        rows.append(row)
    return rows, common


@dataclass(frozen=True)
class SummaryTable:
    """The summary's content: one row per job, the overrides all jobs share, and how many
    jobs are in each state (``3 finished, 1 running elsewhere``, in first-seen order)."""

    rows: list[dict[str, Any]]
    common: dict[str, str]
    counts: dict[str, int]


def summary_table(records: Sequence[JobRecord]) -> SummaryTable | None:
    """The summary of the jobs (failed and unfinished ones included); None without a job."""
    if not records:
        return None
    rows, common = summary_rows(records)
    return SummaryTable(rows, common, dict(Counter(job_state(r) for r in records)))


def write_summary(sweep_dir: Path, table: SummaryTable | None) -> str | None:
    """Write ``summary.csv`` and ``summary.md``; return the table (None if there is no job)."""
    if table is None:
        return None
    rows = table.rows
    with atomic.replacing(sweep_dir / "summary.csv") as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    formats = [FLOAT_FORMATS.get(column, "g") for column in rows[0]]
    text = tabulate(rows, headers="keys", tablefmt="github", floatfmt=formats)
    shared = ", ".join(f"`{k}={v}`" for k, v in table.common.items()) or "none"
    counts = ", ".join(f"{n} {state}" for state, n in table.counts.items())
    atomic.write_text(
        sweep_dir / "summary.md",
        f"# Sweep summary: {sweep_dir.name}\n\n{len(rows)} jobs ({counts}). "
        f"Overrides shared by all: {shared}.\n\n{text}\n",
    )
    return text


def job_state(record: JobRecord) -> str:
    """How the job ended, or what it is doing now: a stand-in record that has not ended
    carries its state in ``error`` (``running elsewhere``, ``stopped``, ``not started``)."""
    return record.status if record.ended else record.error or record.status
