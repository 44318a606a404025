"""One table for a whole sweep: ``summary.csv`` and ``summary.md`` in the sweep dir.

A Hydra callback (not launcher code), so it runs after any launcher's multirun;
it also writes the report of ``auglab.report`` (accuracy by size and setting).
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig
from tabulate import tabulate

from auglab.outputs import METRICS_FILE

log = logging.getLogger(__name__)

#: metrics.json keys shown in the summary, with their column names.
METRIC_COLUMNS = {
    "test/acc": "test_acc",
    "test/loss": "test_loss",
    "val/acc_best": "val_acc_best",
    "train_size": "train_size",
    "epochs": "epochs",
    "fit_seconds": "fit_s",
    "train_images_per_second": "img_per_s",
    "seed": "seed",
}

#: Recorded by newer jobs: shown when any job has them.
COUNT_COLUMNS = {"optimizer_steps": "optimizer_steps", "train_images_seen": "train_images_seen"}

#: metrics.json key -> (column, the override that sets it): shown only where the jobs
#: differ, and not when that override is already a swept column.
VARYING_COLUMNS = {
    "aug": ("aug", "aug"),
    "aug_strength": ("aug_strength", "aug.strength"),
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


def parse_override(override: str) -> tuple[str, str]:
    key, _, value = override.partition("=")
    return key.lstrip("+~"), value


def collect_jobs(sweep_dir: Path) -> list[dict[str, Any]]:
    """``metrics.json`` of every finished job under ``sweep_dir``, in job order."""
    jobs = [json.loads(p.read_text()) for p in sweep_dir.glob(f"*/{METRICS_FILE}")]
    return sorted(jobs, key=lambda m: (m.get("job_num") is None, m.get("job_num") or 0))


def summary_rows(jobs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One row per job: its swept values, then its metrics; plus the overrides all jobs share."""
    overrides = [dict(parse_override(o) for o in job.get("overrides", [])) for job in jobs]
    keys = list(dict.fromkeys(k for o in overrides for k in o))
    common = {
        k: overrides[0][k]
        for k in keys
        if len(jobs) > 1 and all(o.get(k) == overrides[0].get(k) for o in overrides)
    }
    swept = [k for k in keys if k not in common]
    columns = dict(METRIC_COLUMNS)
    columns.update({k: name for k, name in COUNT_COLUMNS.items() if any(k in j for j in jobs)})
    for key, (name, override) in VARYING_COLUMNS.items():
        values = {json.dumps(j.get(key)) for j in jobs}
        if len(values) > 1 and override not in swept and name not in swept:
            columns[key] = name
    rows = []
    for job, job_overrides in zip(jobs, overrides, strict=True):
        row: dict[str, Any] = {"job": job.get("job_num")}
        row.update({k: job_overrides.get(k, "") for k in swept})
        row.update({name: job.get(key) for key, name in columns.items()})
        rows.append(row)
    return rows, common


def write_summary(sweep_dir: Path) -> str | None:
    """Write ``summary.csv`` and ``summary.md``; return the table (None if no job finished)."""
    jobs = collect_jobs(sweep_dir)
    if not jobs:
        return None
    rows, common = summary_rows(jobs)
    with (sweep_dir / "summary.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    formats = [FLOAT_FORMATS.get(column, "g") for column in rows[0]]
    table = tabulate(rows, headers="keys", tablefmt="github", floatfmt=formats)
    shared = ", ".join(f"`{k}={v}`" for k, v in common.items()) or "none"
    (sweep_dir / "summary.md").write_text(
        f"# Sweep summary: {sweep_dir.name}\n\n{len(rows)} jobs. Overrides shared by all: {shared}.\n\n{table}\n"
    )
    return table


class SweepSummary(Callback):
    """Hydra callback: after a multirun, the summary table and the report (``auglab.report``)."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from auglab.report import REPORT_MD, write_report  # the report builds on this module

        sweep_dir = Path(config.hydra.sweep.dir)
        table = write_summary(sweep_dir)
        if table is None:
            log.warning("No finished job in %s: no summary written", sweep_dir)
            return
        print(f"\nSweep summary ({sweep_dir / 'summary.md'}):\n{table}\n", flush=True)
        report = write_report(sweep_dir, with_summary=False)
        print(f"Sweep report ({sweep_dir / REPORT_MD}):\n\n{report}", flush=True)
