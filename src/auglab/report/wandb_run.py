"""The W&B report run: the summary, the report's tables and ``report.png`` logged as a run
of ``job_type=report`` in the jobs' project and group, offline like them unless they were
online. It renders the report as made (``auglab.report.build.Report``); wandb is imported
only when the run is logged."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from auglab.errors import one_line
from auglab.report.build import Report
from auglab.report.wandb_target import Target

log = logging.getLogger(__name__)

#: Where the W&B report run writes (``<sweep dir>/report_run/wandb/offline-run-*``): one
#: level down, like the jobs' runs, so ``wandb sync <sweep dir>/*/wandb/offline-run-*``
#: uploads it with them.
REPORT_RUN_DIR = "report_run"


def log_report_run(to: Target, sweep_dir: Path, report: Report) -> Path | None:
    """Log the report as a W&B run; its directory, or None, with a warning line, when wandb
    is missing or fails: the report files in the sweep dir are the result either way."""
    try:
        import wandb  # 0.5 s of import, for sweeps whose jobs log to W&B only

        run_dir = sweep_dir / REPORT_RUN_DIR
        run = to.start_sweep_run(
            run_dir, "report", {"sweep_dir": str(sweep_dir), "select": report.select}
        )
        summary = report.result.summary.rows if report.result.summary else []
        logged: dict[str, Any] = {"summary": _table(wandb, summary)}
        logged.update({name: _table(wandb, rows) for name, rows in report.tables.items() if rows})
        logged["report"] = wandb.Image(str(report.png), caption=report.png.name)
        run.log(logged)
        run.finish()
        # wandb 0.31's finish() can return before the offline run file is written (the first
        # run of a process: 7 bytes, then 3.5 kB a second later); teardown waits for it.
        wandb.teardown()
    except Exception as err:  # wandb missing, offline dir unwritable, no network...
        log.warning("W&B report run not logged (%s); the report is in %s", one_line(err), sweep_dir)
        return None
    log.info("W&B report run (job_type=report) in %s", run_dir)
    return run_dir


def _table(wandb: Any, rows: list[dict[str, Any]]) -> Any:
    """A ``wandb.Table`` of rows of dicts; non-finite floats as empty cells (strict JSON)."""
    columns = list(dict.fromkeys(k for row in rows for k in row))

    def cell(value: Any) -> Any:
        return None if isinstance(value, float) and not math.isfinite(value) else value

    return wandb.Table(columns=columns, data=[[cell(row.get(c)) for c in columns] for row in rows])
