"""The end of a multirun: summary, report, a W&B report run (and, asked for, a W&B Report),
and an exit status that tells of failures.

A Hydra callback (not launcher code), so it runs after any launcher's multirun. Hydra
also loads it into every job's process: the report (matplotlib, scipy) and wandb are
imported only when the sweep ends.
"""

from __future__ import annotations

import logging
import secrets
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from auglab.errors import one_line
from auglab.process import exit_interrupted, exit_with_failures, stopped_by
from auglab.record import selection_metric

if TYPE_CHECKING:
    from auglab.report import Report

log = logging.getLogger(__name__)

#: Where the W&B report run writes (``<sweep dir>/report_run/wandb/offline-run-*``): one
#: level down, like the jobs' runs, so ``wandb sync <sweep dir>/*/wandb/offline-run-*``
#: uploads it with them.
REPORT_RUN_DIR = "report_run"


class SweepSummary(Callback):
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
        from auglab.report import REPORT_MD, make_report
        from auglab.summary import job_state

        sweep_dir = Path(config.hydra.sweep.dir)
        signum = stopped_by(sweep_dir)  # this process's sweep was stopped by a signal
        stopped = signum is not None
        report = make_report(sweep_dir, select=self.select)
        if report is None:
            log.warning("No job record in %s: no summary written", sweep_dir)
        else:
            print(f"\nSweep summary ({sweep_dir / 'summary.md'}):\n{report.summary}\n", flush=True)
            print(f"Sweep report ({sweep_dir / REPORT_MD}):\n\n{report.text}", flush=True)
            if wandb_logger_config(config) is not None and not stopped:
                log_report_run(config, sweep_dir, report)
            if self.wandb_report and not stopped:
                publish_wandb_report(config, sweep_dir, report)
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


def wandb_logger_config(config: DictConfig) -> DictConfig | None:
    """The jobs' W&B logger config (``logger.wandb`` or any WandbLogger entry); None without."""
    loggers = OmegaConf.select(config, "logger") or {}
    for entry in loggers.values():
        if isinstance(entry, DictConfig) and str(entry.get("_target_", "")).endswith("WandbLogger"):
            return entry
    return None


def log_report_run(config: DictConfig, sweep_dir: Path, report: Report) -> Path | None:
    """Log the summary, the report's tables and figure as a W&B run of ``job_type=report``,
    in the jobs' project and group, offline like them unless they were online.

    Returns the run's directory; None, with a warning line, when wandb is missing or fails:
    the report files in the sweep dir are the result either way.
    """
    from auglab.resolvers import WANDB_ID_FILE, wandb_offline
    from auglab.summary import summary_rows

    settings = wandb_logger_config(config)
    try:
        import wandb

        project = _setting(settings, "project", "auglab")
        group = _setting(settings, "group", None) or sweep_dir.name
        offline = _setting(settings, "offline", None)
        offline = wandb_offline() if offline is None else bool(offline)
        run_dir = sweep_dir / REPORT_RUN_DIR
        run_dir.mkdir(parents=True, exist_ok=True)
        id_file = run_dir / WANDB_ID_FILE  # a rerun of the sweep updates the same run
        if not id_file.is_file():
            id_file.write_text(secrets.token_hex(6) + "\n")  # as the jobs' ids are made
        run = wandb.init(
            project=project,
            entity=_setting(settings, "entity", None),
            group=group,
            job_type="report",
            name=f"report {group}",
            dir=str(run_dir),
            id=id_file.read_text().strip(),
            resume="allow",
            mode="offline" if offline else "online",
            config={"sweep_dir": str(sweep_dir), "select": report.select},
            reinit="finish_previous",  # never log into a job's run
        )
        rows, _ = summary_rows(report.jobs)
        logged: dict[str, Any] = {"summary": _table(wandb, rows)}
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


def publish_wandb_report(config: DictConfig, sweep_dir: Path, report: Report) -> str | None:
    """The sweep's W&B Report: its URL online, else None (one line says why, and the files
    are in the sweep dir). A failure is one warning line: the sweep's end never fails on it."""
    try:
        from auglab.report.wandb_report import publish, target

        return publish(report, sweep_dir, target(config, sweep_dir))
    except Exception as err:  # wandb-workspaces missing or changed, sweep dir unwritable...
        log.warning("W&B report not built (%s); the report is in %s", one_line(err), sweep_dir)
        return None


def _setting(settings: DictConfig | None, key: str, default: Any) -> Any:
    """A key of the jobs' logger config, resolved; ``default`` if absent or unresolvable here
    (the group resolver needs a job's Hydra config)."""
    if settings is None:
        return default
    try:
        value = settings.get(key, default)
    except Exception:
        return default
    return default if value is None else value


def _table(wandb: Any, rows: list[dict[str, Any]]) -> Any:
    """A ``wandb.Table`` of rows of dicts; non-finite floats as empty cells (strict JSON)."""
    import math

    columns = list(dict.fromkeys(k for row in rows for k in row))

    def cell(value: Any) -> Any:
        return None if isinstance(value, float) and not math.isfinite(value) else value

    return wandb.Table(columns=columns, data=[[cell(row.get(c)) for c in columns] for row in rows])
