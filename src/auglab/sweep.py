"""The end of a multirun: summary, report, and an exit status that tells of failures.

A Hydra callback (not launcher code), so it runs after any launcher's multirun.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from auglab.record import JobRecord, sweep_records
from auglab.report import REPORT_MD, write_report
from auglab.summary import write_summary

log = logging.getLogger(__name__)


class SweepSummary(Callback):
    """After a multirun: ``summary.*`` and ``report.*``, one line per failed job, and exit
    status 1 when any job failed or diverged (0 when all finished)."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        records = [record for _, record in sweep_records(sweep_dir)]
        table = write_summary(sweep_dir, records)
        if table is None:
            log.warning("No job record in %s: no summary written", sweep_dir)
            return
        print(f"\nSweep summary ({sweep_dir / 'summary.md'}):\n{table}\n", flush=True)
        report = write_report(sweep_dir, with_summary=False)
        print(f"Sweep report ({sweep_dir / REPORT_MD}):\n\n{report}", flush=True)
        unfinished = [r for r in records if not r.ok]
        if unfinished:
            exit_with_failures(unfinished)


def exit_with_failures(records: list[JobRecord]) -> None:
    lines = [f"auglab: {r.failure_line()}" for r in records]
    lines.append(
        f"auglab: error: {len(records)} of the sweep's jobs did not finish; rerun the same "
        "command with the same hydra.sweep.dir to run them again (finished jobs are skipped)"
    )
    print("\n".join(lines), file=sys.stderr, flush=True)
    sys.exit(1)
