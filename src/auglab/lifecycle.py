"""What surrounds one job, in one place: its directory's config, lock, record, W&B run,
stop requests, DDP re-entry and the quick exit.

``run`` wraps the train task (``auglab.job.train``) for ``train.py``:

1. take the job dir's lock (``auglab.lock``), or leave the job to the process holding it;
2. refuse a dir made by another config (``auglab.plan.fingerprint``), naming what differs;
3. skip a finished job; otherwise record ``running`` and resume from the last checkpoint;
4. train, then finish the W&B run, then make the record from the task's ``Outcome``:
   ``finished``, or ``failed``/``diverged``/``interrupted`` with the stage and one line.

The entry script's path is an argument (``entry``): Lightning's DDP launcher re-runs it
in each child process, and a sweep's job must re-run itself, not the whole sweep.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shlex
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, read_write
from omegaconf.errors import OmegaConfBaseException

from auglab.errors import Diverged, one_line
from auglab.lock import LOCK_FILE, JobLock
from auglab.outputs import discard_job_dir, other_config_line
from auglab.plan import (
    COMPOSED_FILE,
    fingerprint,
    job_number,
    other_config,
    write_composed,
)
from auglab.record import JobRecord, read_record, write_record
from auglab.resolvers import WANDB_ID_FILE
from auglab.runtime import rank
from auglab.slurm import link_logs, under_submitit
from auglab.stopping import Interrupted, JobStop, exit_status

if TYPE_CHECKING:
    from auglab.checkpoints import ResumePoint

log = logging.getLogger("auglab.train")

#: Set in the parent process by Lightning's DDP launcher; left behind, the next
#: DDP job believes its processes were started externally and waits forever.
DDP_ENV = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE", "GLOBAL_RANK")


def run(cfg: DictConfig, entry: str) -> float:
    """Run the train task as this Hydra job; returns ``optimized_metric`` (NaN if not
    finished) for sweepers. A single run's user error exits with one line."""
    hc = HydraConfig.get()
    multirun = hc.mode == RunMode.MULTIRUN
    num = job_number(hc) if multirun else None
    job = _Job(cfg, entry, Path(hc.runtime.output_dir), multirun, num)
    with job.stop.requeue_deferred():
        return _run(job, multirun)


def _run(job: _Job, multirun: bool) -> float:
    if rank() != 0:  # DDP's other processes re-run this job: they only train
        return job.train_only()
    lock = JobLock(job.output_dir / LOCK_FILE, job.name)
    holder = lock.acquire()
    if holder is not None:
        where = f"{job.output_dir} is being trained by {holder.describe()}"
        if multirun:
            log.warning("%s: %s: left to it", job.name, where)
            return math.nan
        raise SystemExit(f"auglab: error: {where}: wait for it, or pick another hydra.run.dir")
    if under_submitit():
        link_logs(job.output_dir)
    try:
        value = job.run(lock)
        if job.record.status == "interrupted" and under_submitit():
            job.leave_to_slurm()
        return value
    finally:
        lock.release()


class _Job:
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

    def run(self, lock: JobLock) -> float:
        self.stop.lost = lock.lost
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
        from auglab.job import JobContext, train

        ctx = JobContext(self.name, self.output_dir, self._stage, self._fit_from, self.stop.reason)
        failure: BaseException | None = None
        with self.stop.installed(), self._isolated():
            try:
                outcome = train(self.cfg, ctx)
            except BaseException as err:
                if not isinstance(err, Exception) and self.stop.reason() is None:
                    raise  # not ours to record: a genuine exit
                failure = err
        # The W&B run is finished (complete on disk) before the record says so.
        _quick_exit.allowed = self.multirun or ctx.world_size == 1
        if failure is not None:
            return self._failed(failure, lock)
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
            else f"epoch {start.epoch + 1} ({_rel(start.path, self.output_dir)})"
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
        raise SystemExit(f"auglab: error: {other_config_line(self.output_dir, what)}")

    def _failed(self, err: BaseException, lock: JobLock) -> float:
        """Record the end; a sweep goes on to its next job, a single run exits with one line."""
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            log.error("Full traceback (HYDRA_FULL_ERROR=1)", exc_info=err)
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
        raise SystemExit(f"auglab: error: {self.record.error}")

    def _interrupted(self, reason: str) -> float:
        from auglab.job import peek_start

        start = peek_start(self.output_dir)
        resumes = "from scratch" if start is None else f"from epoch {start.epoch + 1}"
        self._save(status="interrupted", error=f"stopped ({reason}); a rerun resumes {resumes}")
        log.warning("%s: %s", self.name, self.record.error)
        if self.multirun:
            return math.nan
        again = shlex.join(
            [Path(sys.executable).name, *sys.argv, f"hydra.run.dir={self.output_dir}"]
        )
        print(f"auglab: interrupted; to continue, run: {again}", file=sys.stderr, flush=True)
        raise SystemExit(exit_status(self.stop.signum or 2))

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
        from auglab.job import JobContext, peek_start, train

        ctx = JobContext(
            self.name,
            self.output_dir,
            lambda stage: None,
            lambda threads: peek_start(self.output_dir),
            self.stop.reason,
        )
        with self.stop.installed(), self._isolated():
            train(self.cfg, ctx)
        return math.nan

    # ---- one job in a process that may run others after it ----------------------------------

    @contextlib.contextmanager
    def _isolated(self) -> Iterator[None]:
        """W&B runs, DDP process groups and the environment variables Lightning's DDP
        launcher sets would otherwise leak from one job into the next in the same process
        (Hydra's basic launcher runs every job of a sweep in one process)."""
        saved_env = {key: os.environ.get(key) for key in DDP_ENV}
        try:
            with self._ddp_children_rerun_this_job():
                yield
        finally:
            finish_wandb()
            torch = sys.modules.get("torch")
            distributed = getattr(torch, "distributed", None)
            if (
                distributed is not None
                and distributed.is_available()
                and distributed.is_initialized()
            ):
                distributed.destroy_process_group()
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    @contextlib.contextmanager
    def _ddp_children_rerun_this_job(self) -> Iterator[None]:
        """Lightning re-runs ``__main__`` with ``sys.argv`` plus ``hydra.run.dir=<run dir>``
        in every child process; in a multirun that would start the sweep again in each
        child, and in a joblib or submitit worker ``__main__`` is the worker's own module.
        The children run the entry script with this job's overrides instead."""
        if not self.multirun:
            yield
            return
        import __main__

        hc = HydraConfig.get()
        argv, spec = sys.argv, getattr(__main__, "__spec__", None)
        sys.argv = [self.entry, *hc.overrides.task]
        __main__.__spec__ = None  # Lightning: "python <sys.argv[0]>", not "python -m <spec>"
        with read_write(hc.run):
            previous, hc.run.dir = hc.run.dir, hc.runtime.output_dir
        try:
            yield
        finally:
            sys.argv, __main__.__spec__ = argv, spec
            with read_write(hc.run):
                hc.run.dir = previous


def finish_wandb(teardown: bool = False) -> None:
    """The one place W&B runs end: after each job, and (``teardown``) before the quick exit,
    waiting for the W&B service to write the offline run files."""
    wandb = sys.modules.get("wandb")
    if wandb is None:
        return
    if wandb.run is not None:
        wandb.run.finish()
    if teardown:
        wandb.teardown()


def _starting_point(output_dir: Path, name: str, previous: JobRecord | None) -> ResumePoint | None:
    """Where this attempt starts, said in one log line: a checkpoint, or scratch."""
    from auglab.checkpoints import read_checkpoints

    found = read_checkpoints(output_dir / "checkpoints")
    found.set_aside_damaged()
    damaged = "; ".join(f"{p.name} is damaged (truncated or unreadable)" for p in found.damaged)
    if found.start is not None:
        where = _rel(found.start.path, output_dir)
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


def _rel(path: Path, root: Path) -> str:
    from auglab.job import relative

    return relative(str(path), root) or str(path)


# ---- the quick exit ---------------------------------------------------------------------------


@dataclass
class _QuickExit:
    """Whether the process may end without Python's own teardown (see ``cli``)."""

    allowed: bool = True


_quick_exit = _QuickExit()


def cli(main: Callable[[], Any]) -> None:
    """Run a Hydra main, then end the process at once.

    With torch and Lightning loaded, Python's own teardown takes about 1.3 s
    (``bench/startup.py``). Once the task has returned (or exited with a status), its
    files are written: the W&B service finishes writing, every log is flushed, and the
    process ends. Two cases end the usual way: a multi-process DDP run, so its other
    processes are never cut short, and a sweep whose joblib workers are still alive,
    which Python's exit shuts down cleanly (they hold the output streams).
    """
    try:
        main()
        status: int | str | None = 0
    except SystemExit as stop:
        status = stop.code
    if not _quick_exit.allowed or _joblib_workers_alive():
        sys.exit(status)
    finish_wandb(teardown=True)
    if isinstance(status, str):  # what sys.exit("message") prints
        print(status, file=sys.stderr)
        status = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status or 0)


def _joblib_workers_alive() -> bool:
    executors = sys.modules.get("joblib.externals.loky.reusable_executor")
    return getattr(executors, "_executor", None) is not None
