"""The end of a sweep (a Hydra callback, not launcher code, so it runs after any launcher's
multirun): the summary and report (``auglab.report``), a W&B report run and, asked for, a
W&B Report, and an exit status that tells of failures.

Not to be confused with ``auglab.sweeper``, the Hydra Sweeper that plans and launches the
jobs. Hydra also loads this module into every job's process: the report package costs
0.03 s there (matplotlib and scipy come with Lightning), wandb-workspaces is imported only
when the sweep ends with ``wandb_report=true``.
"""

from __future__ import annotations

import logging
import shlex
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from auglab.errors import one_line
from auglab.process import (
    disk_problem,
    exit_disk_full,
    exit_interrupted,
    exit_with_failures,
    stopped_by,
)
from auglab.record import selection_metric
from auglab.report.build import Report, make_report
from auglab.report.markdown import REPORT_MD
from auglab.report.summary_table import job_state
from auglab.report.wandb_run import log_report_run
from auglab.report.wandb_target import Target, target

log = logging.getLogger(__name__)


class EndOfSweep(Callback):
    """After a multirun: ``summary.*`` and ``report.*``, a W&B run of ``job_type=report``
    when the jobs logged to W&B, one line per failed job, and exit status 1 when any job
    failed or diverged (0 when all finished).

    ``select``: a validation metric (``val/acc_best``) on which every other swept key
    (``optim.lr``...) is tuned per setting, size and seed before the report compares
    settings (``hydra.callbacks.sweep_summary.select=val/acc_best``); None: no tuning.

    ``wandb_report``: also build a W&B Report of the sweep (``auglab.report.wandb_report``):
    saved online, else left in the sweep dir as ``wandb_report.json``/``.md``.
    """

    def __init__(self, select: str | None = None, wandb_report: bool = False) -> None:
        self.select = selection_metric(select)  # a wrong name fails as the sweep starts
        self.wandb_report = bool(wandb_report)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        signum = stopped_by(sweep_dir)  # this process's sweep was stopped by a signal
        stopped = signum is not None
        try:
            report = make_report(sweep_dir, select=self.select)
        except OSError as err:  # summary.*, report.* on a full or unwritable disk: one line
            problem = disk_problem(err)
            if problem is None:
                raise
            exit_disk_full(problem, then="run `python -m auglab.report` on the sweep dir")
        if report is None:
            log.warning("No job record in %s: no summary written", sweep_dir)
        else:
            print(f"\nSweep summary ({sweep_dir / 'summary.md'}):\n{report.summary}\n", flush=True)
            print(f"Sweep report ({sweep_dir / REPORT_MD}):\n\n{report.text}", flush=True)
            to = target(config, sweep_dir)
            if to.logged and not stopped:
                log_report_run(to, sweep_dir, report)
            if self.wandb_report and not stopped:
                publish_wandb_report(to, sweep_dir, report)
        if signum is not None:
            exit_interrupted(signum, same_command(sweep_dir))
        if report is None:
            return
        elsewhere = [r for r in report.jobs if job_state(r) == "running elsewhere"]
        if elsewhere:
            log.warning(
                "%d jobs are being trained by another process; `python -m auglab.report %s` "
                "rebuilds the summary once they end",
                len(elsewhere),
                sweep_dir,
            )
        unfinished = [r for r in report.jobs if not r.ok and r not in elsewhere]
        if unfinished:
            exit_with_failures(unfinished)


def same_command(sweep_dir: Path) -> str:
    """This process's command line, with ``hydra.sweep.dir`` pinned so a rerun continues
    this sweep (the default dir is named by the time: a rerun would start a new one)."""
    argv = [Path(sys.executable).name, *sys.argv]
    if not any(a.startswith("hydra.sweep.dir=") for a in argv):
        argv.append(f"hydra.sweep.dir={sweep_dir}")
    return shlex.join(argv)


def publish_wandb_report(to: Target, sweep_dir: Path, report: Report) -> str | None:
    """The sweep's W&B Report: its URL online, else None (one line says why, and the files
    are in the sweep dir). A failure is one warning line: the sweep's end never fails on it."""
    try:
        # wandb-workspaces and wandb: 0.1 s (jobs logging to W&B) to 0.5 s (the others) of
        # import in every job's process, where Hydra loads this callback, for an option off
        # by default (python -X importtime)
        from auglab.report.wandb_report import publish

        return publish(report, sweep_dir, to)
    except Exception as err:  # wandb-workspaces missing or changed, sweep dir unwritable...
        log.warning("W&B report not built (%s); the report is in %s", one_line(err), sweep_dir)
        return None
