"""The job dir's guard: one writer, one config, one record, around the train task.

``run`` wraps the train task (``auglab.job.train``) for ``train.py``:

1. take the job dir's lock (``auglab.lock``), or leave the job to the process holding it;
2. refuse a dir made by another config (``auglab.plan.fingerprint``), naming what differs;
3. skip a finished job; otherwise record ``running`` and resume from the last checkpoint;
4. train, then finish the W&B run, then make the record from the task's ``Outcome``:
   ``finished``, or ``failed``/``diverged``/``interrupted`` with the stage and one line.

A full or unwritable disk stops the job (and its sweep) with one line; a ``running``
record the job cannot overwrite is removed, so no record claims a job nobody runs. How
the process stops and exits is ``auglab.process``'s; DDP's re-entry is ``auglab.ddp``'s.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shlex
import signal
import sys
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from auglab import ddp
from auglab.errors import Diverged, one_line
from auglab.lock import LOCK_FILE, JobLock
from auglab.outputs import discard_job_dir, other_config_line
from auglab.plan import COMPOSED_FILE, fingerprint, job_number, other_config, write_composed
from auglab.process import (
    Ending,
    Interrupted,
    JobStop,
    disk_problem,
    exit_disk_full,
    exit_error,
    exit_run_interrupted,
    exit_status,
)
from auglab.record import RECORD_FILE, JobRecord, read_record, write_record
from auglab.resolvers import WANDB_ID_FILE
from auglab.slurm import link_logs, under_submitit
from auglab.wandb_runs import finish_wandb

if TYPE_CHECKING:
    from auglab.checkpoints import ResumePoint
    from auglab.job import Outcome

log = logging.getLogger("auglab.train")


def run(cfg: DictConfig, entry: str, ending: Ending) -> float:
    """Run the train task as this Hydra job; returns ``optimized_metric`` (NaN if not
    finished) for sweepers. A single run's user error exits with one line.

    The entry script's path (``entry``) is what DDP's child processes re-run
    (``auglab.ddp``); ``ending`` learns whether other ranks must outlive this one."""
    hc = HydraConfig.get()
    multirun = hc.mode == RunMode.MULTIRUN
    num = job_number(hc) if multirun else None
    guard = JobGuard(cfg, entry, Path(hc.runtime.output_dir), multirun, num)
    with guard.stop.requeue_deferred():
        try:
            return _run(guard, ending)
        except OSError as err:  # the lock or the first record could not be written
            problem = disk_problem(err)
            if problem is None:
                raise
            return guard.disk_full(problem)


def _run(guard: JobGuard, ending: Ending) -> float:
    if ddp.rank() != 0:  # DDP's other processes re-run this job: they only train
        return guard.train_only()
    lock = JobLock(guard.output_dir / LOCK_FILE, guard.name)
    holder = lock.acquire()
    if holder is not None:
        where = f"{guard.output_dir} is being trained by {holder.describe()}"
        if guard.multirun:
            log.warning("%s: %s: left to it", guard.name, where)
            return math.nan
        exit_error(f"{where}: wait for it, or pick another hydra.run.dir")
    if under_submitit():
        link_logs(guard.output_dir)
    try:
        value = guard.run(lock, ending)
        if guard.record.status == "interrupted" and under_submitit():
            guard.leave_to_slurm()
        return value
    finally:
        lock.release()


class JobGuard:
    """One attempt at one job dir: what it was, and the record it leaves."""

    def __init__(
        self, cfg: DictConfig, entry: str, output_dir: Path, multirun: bool, num: int | None
    ) -> None:
        self.cfg, self.entry, self.output_dir = cfg, entry, output_dir
        self.multirun, self.num = multirun, num
        self.name = f"job {num}" if multirun else "run"
        self.fingerprint = fingerprint(cfg)
        self.record = JobRecord(status="running")
        self.previous: JobRecord | None = None
        sweep_dir = Path(HydraConfig.get().sweep.dir) if multirun else None
        self.stop = JobStop(sweep_dir)

    # ---- the writer (rank 0) ---------------------------------------------------------------

    def run(self, lock: JobLock, ending: Ending) -> float:
        self.stop.lost = lock.lost
        skipped = self._begin()
        if skipped is not None:
            return skipped
        # Deferred: the train task loads torch, Lightning and the data code (~3 s, measured
        # with `python -X importtime -c "import auglab.job"`); a skipped job never needs it.
        from auglab.job import TaskHooks, train

        hooks = TaskHooks(self.name, self.output_dir, self._stage, self._fit_from, self.stop.reason)
        failure: BaseException | None = None
        with self.stop.installed(), self._one_job():
            try:
                outcome = train(self.cfg, hooks)
            except BaseException as err:
                if not isinstance(err, Exception) and self.stop.reason() is None:
                    raise  # not ours to record: a genuine exit
                failure = err
        # The W&B run is finished (complete on disk) before the record says so.
        if not self.multirun and hooks.world_size > 1:
            ending.other_ranks = True
        if failure is not None:
            return self._failed(failure, lock)
        return self._finished(outcome)

    def _begin(self) -> float | None:
        """Whether this attempt trains (None), or its result without training: another
        config's dir, a finished job, a stopping sweep."""
        self.previous = previous = read_record(self.output_dir)
        what = other_config(self.output_dir, self.cfg)
        if what is not None:
            return self._other_config(what)
        if previous is not None and previous.ok:
            log.info(
                "%s: finished, skipping (delete %s or pick another dir to train again)",
                self.name,
                self.output_dir,
            )
            return self._optimized(previous)
        if self.stop.reason() is not None:  # queued behind jobs the stop already ended
            log.info("%s: the sweep is stopping: not started", self.name)
            return math.nan
        self.record = JobRecord(
            status="running",
            overrides=list(HydraConfig.get().overrides.task),
            job_num=self.num,
            seed=self.cfg.get("seed"),
            stage="config",
            attempts=previous.attempts + 1 if previous else 1,
            fingerprint=self.fingerprint,
        )
        if self.multirun:  # a job killed from here on is known to have started
            self._save()
        return None

    def _finished(self, outcome: Outcome) -> float:
        self._save(status="finished", stage=None, error=None, **asdict(outcome))
        best = outcome.val_acc_best
        log.info(
            "%s: finished: test acc %.4f, best val acc %s",
            self.name,
            outcome.test_acc,
            "none" if best is None else f"{best:.4f}",
        )
        return self._optimized(self.record)

    def _save(self, **changes: Any) -> None:
        self.record = replace(self.record, **changes)
        if not (self.output_dir / COMPOSED_FILE).is_file():
            write_composed(self.cfg, self.output_dir)
        write_record(self.record, self.output_dir)

    def _stage(self, stage: str) -> None:
        self.record = replace(self.record, stage=stage)

    def _fit_from(self, threads: int) -> ResumePoint | None:
        start = _starting_point(self.output_dir, self.name, self.previous)
        resumed = (
            None
            if start is None
            else f"epoch {start.epoch + 1} ({_relative(start.path, self.output_dir)})"
        )
        self._save(stage="fit", threads=threads, resumed_from=resumed)
        return start

    def _other_config(self, what: str) -> float:
        """This dir's record or checkpoints were made by another config: never reported or
        resumed as this one."""
        if self.multirun:
            line = f"{self.output_dir} holds a job of another config ({what})"
            log.error("%s: %s: left untouched", self.name, line)
            return math.nan
        exit_error(other_config_line(self.output_dir, what))

    def _failed(self, err: BaseException, lock: JobLock) -> float:
        """Record the end; a sweep goes on to its next job, a single run exits with one line."""
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            log.error("Full traceback (HYDRA_FULL_ERROR=1)", exc_info=err)
        problem = disk_problem(err)
        if problem is not None:
            return self.disk_full(problem)
        stopped = self.stop.reason()
        if stopped is not None or isinstance(err, Interrupted):
            return self._interrupted(stopped or str(err))
        status = "diverged" if isinstance(err, Diverged) else "failed"
        self.record = replace(self.record, status=status, error=one_line(err))
        if self.multirun:
            self._save()
            log.error("%s", self.record.failure_line())
            return math.nan
        if self.record.stage in ("config", "data") and self.previous is None:
            # Nothing was trained: leave no trace of the attempt (the user fixes a typo and reruns).
            lock.release()
            try:
                log_dir = Path(self.cfg.paths.log_dir)
            except OmegaConfBaseException:  # the paths config itself is what is broken
                log_dir = self.output_dir.parent
            (self.output_dir / WANDB_ID_FILE).unlink(missing_ok=True)
            discard_job_dir(self.output_dir, HydraConfig.get().job.name, log_dir)
        else:
            self._save()
        exit_error(str(self.record.error))

    def disk_full(self, problem: str) -> float:
        """The disk is full or the dir unwritable: the job stops, its sweep too, and its
        record says so if it can be written; else a ``running`` record it left is removed
        (a rerun, once there is room, trains the job again from its last checkpoint)."""
        self.stop.stop_sweep_for_disk(problem)
        with contextlib.suppress(OSError):
            if self.record.status == "running" and self.record.stage is not None:
                self._save(status="failed", error=f"stopped: {problem}; a rerun resumes it")
        on_disk = read_record(self.output_dir)
        if on_disk is not None and on_disk.status == "running":
            (self.output_dir / RECORD_FILE).unlink(missing_ok=True)
        if self.multirun:
            log.error("%s: stopped: %s", self.name, problem)
            return math.nan
        exit_disk_full(problem, f"run: {self._command()} (it resumes)")

    def _interrupted(self, reason: str) -> float:
        from auglab.checkpoints import read_checkpoints  # torch: loaded by the task already

        start = read_checkpoints(self.output_dir / "checkpoints").start
        resumes = "from scratch" if start is None else f"from epoch {start.epoch + 1}"
        self._save(status="interrupted", error=f"stopped ({reason}); a rerun resumes {resumes}")
        log.warning("%s: %s", self.name, self.record.error)
        if self.multirun:
            return math.nan
        exit_run_interrupted(self.stop.signum, self._command())

    def _command(self) -> str:
        """This run's command line, with its dir pinned so that it continues this run."""
        argv = [Path(sys.executable).name, *sys.argv, f"hydra.run.dir={self.output_dir}"]
        return shlex.join(argv)

    def leave_to_slurm(self) -> None:
        """A SLURM job stopped by a signal ends without a result for submitit, so that its
        submitter waits on (``auglab.launchers``) rather than reading a half job as done.

        submitit's preemption signal: its deferred handler runs ``scontrol requeue`` and
        exits, or (a timeout too many: ``hydra.launcher.max_num_timeout``) raises the job's
        end for submitit to report. SIGTERM: ``scancel``, the time limit or a plain
        ``scontrol requeue``; the submitter asks SLURM which (``auglab.slurm``)."""
        if self.stop.requeue is None:
            if self.stop.signum == signal.SIGTERM:
                raise SystemExit(exit_status(signal.SIGTERM))
            return
        try:
            self.stop.requeue()
        except Exception as err:
            self._save(status="failed", error=f"SLURM's time limit: {one_line(err)}")
            log.error("%s", self.record.failure_line())
            raise

    def _optimized(self, record: JobRecord) -> float:
        name = self.cfg.get("optimized_metric") or "val/acc_best"
        value = record.metric(name) if record.ok else None
        return math.nan if value is None else float(value)

    # ---- DDP's other ranks -----------------------------------------------------------------

    def train_only(self) -> float:
        from auglab.checkpoints import read_checkpoints  # see `run`: the task's torch
        from auglab.job import TaskHooks, train  # see `run`: deferred, ~3 s

        hooks = TaskHooks(
            self.name,
            self.output_dir,
            lambda stage: None,
            lambda threads: read_checkpoints(self.output_dir / "checkpoints").start,
            self.stop.reason,
        )
        with self.stop.installed(), self._one_job():
            train(self.cfg, hooks)
        return math.nan

    @contextlib.contextmanager
    def _one_job(self) -> Iterator[None]:
        """One job in a process that may run others after it: its W&B run ends with it
        (``auglab.wandb_runs``), and so do its DDP process group and environment."""
        try:
            with ddp.one_job(HydraConfig.get(), self.entry, self.multirun):
                yield
        finally:
            finish_wandb()


def _starting_point(output_dir: Path, name: str, previous: JobRecord | None) -> ResumePoint | None:
    """Where this attempt starts, said in one log line: a checkpoint, or scratch."""
    from auglab.checkpoints import read_checkpoints  # see `JobGuard.run`: the task's torch

    found = read_checkpoints(output_dir / "checkpoints")
    found.set_aside_damaged()
    damaged = "; ".join(f"{p.name} is damaged (truncated or unreadable)" for p in found.damaged)
    if found.start is not None:
        where = _relative(found.start.path, output_dir)
        log.info(
            "%s: %sresuming from epoch %d (%s)",
            name,
            f"{damaged}: " if damaged else "",
            found.start.epoch + 1,
            where,
        )
    elif damaged:
        log.warning("%s: %s: starting from scratch", name, damaged)
    elif previous is not None:
        log.info("%s: %s last time, no checkpoint: starting from scratch", name, previous.status)
    else:
        log.info("%s: starting", name)
    return found.start


def _relative(path: Path, root: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(Path(path).resolve().relative_to(root.resolve()))
    return str(path)
