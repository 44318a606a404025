"""A sweep that finishes, resumes, extends and stops: a Hydra sweeper plugin.

Every combination of the swept values, in Hydra's basic sweeper's order. Before any job
is launched, each combination is composed and the sweep's plan is written into the
sweep dir (``auglab.plan``): a job keeps its number, and so its directory, for as long
as its config is unchanged; a new or changed combination gets a new number after the
last one. Then:

- a job whose record says ``finished`` for its planned config is skipped (a rerun, or an
  extended grid, trains only what is missing; finished files stay untouched);
- a job another process is training (its lock is fresh, ``auglab.lock``) is left to it;
- a combination that does not compose is recorded ``failed`` at stage ``config``
  instead of stopping the sweep before any job runs;
- a launcher that loses a worker (killed, out of memory) costs that job only: it is
  recorded ``failed`` and the jobs the launcher never started are launched again;
- Ctrl-C or SIGTERM stops every job at its next batch (``auglab.process``);
- a full or unwritable disk ends the sweep with one line naming the cause and the fix.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

from auglab.errors import one_line
from auglab.estimate import check_estimate, plan_estimate, swept_values
from auglab.lock import job_holder
from auglab.machine import available_cores, joblib_width, parallel_jobs
from auglab.plan import (
    SUBDIR_OVERRIDE,
    PlanEntry,
    Planned,
    dir_fingerprint,
    extend_plan,
    same_jobs,
    unscaled_preset,
)
from auglab.plan import fingerprint as config_fingerprint
from auglab.process import STOP_ENV, SweepStop, disk_problem, exit_disk_full
from auglab.progress import SweepProgress
from auglab.record import JobRecord, read_record, write_record
from auglab.report.wandb_target import Target, target
from auglab.slurm import SchedulerEnded

log = logging.getLogger(__name__)


class FaultTolerantSweeper(Sweeper):
    def __init__(
        self,
        max_batch_size: int | None = None,
        params: dict[str, str] | None = None,
        estimate: str | bool = "auto",
    ) -> None:
        self.max_batch_size = max_batch_size
        self.params = params or {}
        self.estimate = check_estimate(estimate)  # a wrong value fails as the sweep starts
        self._configs: dict[str, DictConfig] = {}  # each combination's, by its plan key
        self.hydra_context: HydraContext | None = None
        self.config: DictConfig | None = None
        self.launcher: Any = None
        self._died: set[int] = set()  # jobs whose process died once already

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        """Every job of the plan that needs to run; a full or unwritable disk (here, or in
        a job, which stops the sweep) ends the sweep with one line, never a traceback."""
        try:
            return self._sweep(arguments)
        except OSError as err:
            problem = disk_problem(err)
            if problem is None:
                raise
            exit_disk_full(problem)

    def _sweep(self, arguments: list[str]) -> Any:
        assert self.config is not None and self.launcher is not None
        combos = self.combinations(arguments)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        if not _numbered_subdirs(self.config):
            log.warning(
                "hydra.sweep.subdir is not the job number: no plan, finished jobs are not "
                "skipped and a combination that does not compose stops the sweep"
            )
            self.validate_batch_is_legal(combos)
            return [self.launcher.launch(combos, initial_job_idx=0)]

        planned = [self._compose(c) for c in combos]
        plan = extend_plan(sweep_dir, planned)
        todo = [entry for entry in plan.entries() if self._needs_run(sweep_dir, entry)]
        alike = same_jobs(planned)
        if alike is not None:
            log.info("%s", alike)
        _say_plan(plan.entries(), todo, self._estimate(todo, combos))
        stop = SweepStop(sweep_dir)
        size = self.max_batch_size or len(todo) or 1
        returns = []
        progress = SweepProgress(sweep_dir, [e.job_num for e in todo], self._wandb_target())
        with stop.installed(), progress:
            for start in range(0, len(todo), size):
                if stop.requested:
                    break
                returns.append(self._launch(sweep_dir, todo[start : start + size], stop))
            problem = stop.disk_full
        if problem is not None:
            exit_disk_full(problem)
        return returns

    def combinations(self, arguments: list[str]) -> list[list[str]]:
        """Every combination of the swept values (sweeper params first, then the command
        line; a key given twice keeps its first place and its last values), as Hydra's
        basic sweeper orders them."""
        assert self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        params = [f"{k}={v}" for k, v in self.params.items()]
        choices: dict[str, list[str]] = {}
        for override in parser.parse_overrides([*params, *arguments]):
            key = override.get_key_element()
            if not override.is_sweep_override():
                choices[key] = [f"{key}={override.get_value_element_as_str()}"]
            elif override.is_discrete_sweep():
                choices[key] = [f"{key}={v}" for v in override.sweep_string_iterator()]
            else:
                raise ValueError(
                    f"{override.input_line}: a range or interval needs a sweeper that samples "
                    "(Optuna, Ax); this one runs every combination of listed values"
                )
        return [list(combo) for combo in itertools.product(*choices.values())]

    def _compose(self, overrides: list[str]) -> Planned:
        """The job's config as its process will compose it, fingerprinted for the plan."""
        assert self.hydra_context is not None and self.config is not None
        try:
            cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        except Exception as err:  # a bad combination: this job's record, not the sweep's end
            return Planned(tuple(overrides), None, one_line(err))
        with open_dict(cfg):
            del cfg["hydra"]
        planned = Planned(tuple(overrides), config_fingerprint(cfg), unscaled=unscaled_preset(cfg))
        self._configs[planned.key] = cfg
        return planned

    def _estimate(self, todo: Sequence[PlanEntry], combos: list[list[str]]) -> str:
        """The plan line's tail: about how long the jobs to run take here, how to shrink."""
        assert self.config is not None
        configs = [self._configs[e.key] for e in todo if e.key in self._configs]
        launcher = str(self.config.hydra.launcher.get("_target_", "")).lower()
        width = max(1, min(len(todo), parallel_jobs(self.config.hydra)))
        threads = self.config.get("threads") or max(1, available_cores() // width)
        cluster = "slurm" in launcher
        return plan_estimate(
            self.estimate, configs, width, threads, swept_values(combos), cluster=cluster
        )

    def _wandb_target(self) -> Target | None:
        """Where the progress figures go in W&B: the jobs' project and group when they log
        there, unless they run in this process (their W&B runs are this process's)."""
        assert self.config is not None
        to = target(self.config, Path(self.config.hydra.sweep.dir))
        in_process = "basic" in str(self.config.hydra.launcher.get("_target_", "")).lower()
        return to if to.logged and not in_process else None

    def _needs_run(self, sweep_dir: Path, entry: PlanEntry) -> bool:
        num, job_dir = entry.job_num, sweep_dir / str(entry.job_num)
        if entry.error is not None:
            self._fail(sweep_dir, entry, "config", entry.error)
            return False
        record = read_record(job_dir)
        mine = (
            record is not None and dir_fingerprint(job_dir, record.fingerprint) == entry.fingerprint
        )
        if record is not None and record.ok and mine:
            log.debug("job %d: finished, skipping", num)
            return False
        holder = job_holder(job_dir)
        if holder is not None:
            log.info("job %d: being trained by %s: left to it", num, holder.describe())
            return False
        if record is not None and record.status != "running":
            log.info(
                "job %d: %s at %s last time, running it again", num, record.status, record.stage
            )
        return True

    def _launch(
        self, sweep_dir: Path, batch: Sequence[PlanEntry], stop: SweepStop
    ) -> Sequence[JobReturn]:
        hydra_overrides = [*self._width(len(batch)), f"++hydra.job.env_set.{STOP_ENV}={stop.token}"]
        overrides = [
            [*e.overrides, f"{SUBDIR_OVERRIDE}={e.job_num}", *hydra_overrides] for e in batch
        ]
        try:
            results = list(self.launcher.launch(overrides, initial_job_idx=batch[0].job_num))
        except Exception as err:  # the launcher itself broke, e.g. a worker process was killed
            reason = _short(one_line(err))
            if stop.requested:
                return []  # workers the stop signal ended: the jobs resume on the rerun
            log.error("The launcher stopped: %s", reason)
            # A broken process pool takes every running job down with the one that died:
            # each gets a second try (resuming from its checkpoint); dying twice is its failure.
            again, died_now = [], False
            for entry in batch:
                record = read_record(sweep_dir / str(entry.job_num))
                if record is None:  # never started
                    again.append(entry)
                elif record.ended:
                    continue
                elif entry.job_num in self._died:
                    self._settle(sweep_dir, entry, f"its process died twice ({reason})", stop)
                else:
                    self._died.add(entry.job_num)
                    again.append(entry)
                    died_now = True
            if again and (died_now or len(again) < len(batch)):
                return self._launch(sweep_dir, again, stop)
            for entry in again:
                self._fail(sweep_dir, entry, "config", f"the launcher could not start it: {reason}")
            return []
        for entry, result in zip(batch, results, strict=False):
            reason = "its process ended without a record"
            error = job_error(result)
            if isinstance(error, SchedulerEnded):
                self._ended_by_scheduler(sweep_dir, entry, str(error))
                continue
            if error is not None:
                reason = f"its process died ({one_line(error)})"
            self._settle(sweep_dir, entry, reason, stop)
        return results

    def _width(self, jobs: int) -> list[str]:
        """Joblib runs at most as many jobs at once as there are: each job's share of the
        cores (``auglab.machine.set_threads``) is then read from ``hydra.launcher.n_jobs``."""
        settings = getattr(self.launcher, "joblib", None)
        if not isinstance(settings, dict):
            return []
        width = min(jobs, joblib_width(settings.get("n_jobs")))
        settings["n_jobs"] = width
        return [f"hydra.launcher.n_jobs={width}"]

    def _settle(self, sweep_dir: Path, entry: PlanEntry, reason: str, stop: SweepStop) -> None:
        """A launched job that left no end to its record failed where it was, unless another
        process trains it (a duplicate sweep got there first) or the sweep was stopped."""
        job_dir = sweep_dir / str(entry.job_num)
        record = read_record(job_dir)
        if record is not None and record.ended:
            return
        holder = job_holder(job_dir)
        if holder is not None:
            log.info("job %d: running elsewhere (%s)", entry.job_num, holder.describe())
            return
        if stop.requested:
            return
        self._fail(sweep_dir, entry, _stage(record), f"{reason}; rerun the sweep to resume it")

    def _ended_by_scheduler(self, sweep_dir: Path, entry: PlanEntry, state: str) -> None:
        """``scancel`` or the time limit: the job stopped at its last checkpoint, but it is
        a failure of this sweep (a rerun resumes it), named by SLURM's state."""
        record = read_record(sweep_dir / str(entry.job_num))
        if record is not None and record.ok:
            return
        said = record.error if record is not None and record.status == "interrupted" else None
        why = said or "rerun the sweep to resume it"
        self._fail(sweep_dir, entry, _stage(record), f"SLURM ended it ({state}): {why}")

    @staticmethod
    def _fail(sweep_dir: Path, entry: PlanEntry, stage: str, error: str) -> None:
        job_dir = sweep_dir / str(entry.job_num)
        job_dir.mkdir(parents=True, exist_ok=True)
        record = read_record(job_dir) or JobRecord(
            status="failed",
            overrides=list(entry.overrides),
            job_num=entry.job_num,
            fingerprint=entry.fingerprint,
        )
        record.status, record.stage, record.error = "failed", stage, error
        write_record(record, job_dir)
        log.error("job %d: failed at %s: %s", entry.job_num, stage, error)


def job_error(result: JobReturn) -> BaseException | None:
    """A failed job's error, None for any other. Hydra's public getter re-raises it after
    writing a line to stderr; the line is kept out of the console (the sweep says its own)."""
    if result.status != JobStatus.FAILED:
        return None
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            result.return_value  # noqa: B018 - the getter raises the job's error
        except BaseException as err:  # noqa: BLE001 - the error is the job's, not ours
            return err
    return None


def _stage(record: JobRecord | None) -> str:
    """Where a launched job that left no end was: its record's stage, or fit."""
    return record.stage if record is not None and record.stage else "fit"


def _say_plan(entries: Sequence[PlanEntry], todo: Sequence[PlanEntry], estimate: str = "") -> None:
    """One line: how many jobs, how many already done, which numbers run now, and
    (``auglab.estimate``) about how long they take and how to shrink the sweep."""
    runs = {e.job_num for e in todo}
    done = len(entries) - len(runs) - sum(1 for e in entries if e.error is not None)
    numbers = _ranges(sorted(runs)) or "none"
    log.info(
        "Sweep of %d jobs: %d to run (jobs %s), %d already finished or running elsewhere%s",
        len(entries),
        len(runs),
        numbers,
        max(done, 0),
        estimate,
    )


def _ranges(nums: Sequence[int]) -> str:
    """``0-3, 7, 9-10``."""
    parts = []
    for _, group in itertools.groupby(enumerate(nums), lambda item: item[1] - item[0]):
        run = [n for _, n in group]
        parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ", ".join(parts)


def _short(reason: str) -> str:
    """A launcher's error cut to its first sentence, keeping how the worker ended."""
    first = reason.split(". ")[0]
    ended = re.search(r"exit codes? of the workers? (?:are|is) \{[^}]*\}", reason)
    return f"{first}; {ended.group(0)}" if ended and ended.group(0) not in first else first


def _numbered_subdirs(config: Any) -> bool:
    subdir = OmegaConf.to_container(config.hydra.sweep, resolve=False).get("subdir")
    return str(subdir).replace(" ", "") == "${hydra.job.num}"
