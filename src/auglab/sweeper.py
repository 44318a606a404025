"""A sweep that finishes and resumes: Hydra's basic sweeper, made fault tolerant.

Same job list, order and numbers as ``hydra/sweeper=basic`` (every combination of
the swept values), with four differences:

- a job whose record says ``finished`` is skipped (a rerun of the same command with
  the same ``hydra.sweep.dir`` continues the sweep; its files stay untouched);
- a combination that does not compose is recorded ``failed`` at stage ``config``
  instead of stopping the sweep before any job runs;
- a launcher that loses a worker (killed, out of memory) costs that job only: it is
  recorded ``failed`` and the jobs the launcher never started are launched again;
- each job keeps its number whatever else is skipped: its directory is set with
  ``hydra.sweep.subdir=<number>`` (a hydra override, so not part of the job's config).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

from auglab.errors import one_line
from auglab.record import JobRecord, read_record, write_record
from auglab.runtime import joblib_width

log = logging.getLogger(__name__)

Job = tuple[int, list[str]]  # (job number, task overrides)
SUBDIR_OVERRIDE = "hydra.sweep.subdir"


class FaultTolerantSweeper(BasicSweeper):
    def __init__(
        self, max_batch_size: int | None = None, params: dict[str, str] | None = None
    ) -> None:
        # Not BasicSweeper.__init__: Hydra's plugin scan re-executes its module, and its
        # `super(BasicSweeper, self)` then names a class this one does not derive from.
        self.overrides = None
        self.batch_index = 0
        self.max_batch_size = max_batch_size
        self.params = params or {}
        self.hydra_context = None
        self.config = None
        self.launcher = None
        self._died: set[int] = set()  # jobs whose process died once already

    def sweep(self, arguments: list[str]) -> Any:
        assert self.config is not None and self.launcher is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides([*self._parse_config(), *arguments])
        (jobs,) = self.split_arguments(overrides, None)
        self.overrides = [jobs]
        self.batch_index = 1

        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        if not _numbered_subdirs(self.config):
            log.warning(
                "hydra.sweep.subdir is not the job number: finished jobs are not skipped and "
                "a combination that does not compose stops the sweep"
            )
            self.validate_batch_is_legal(jobs)
            return [self.launcher.launch(jobs, initial_job_idx=0)]

        todo: list[Job] = []
        for num, job in enumerate(jobs):
            record = read_record(sweep_dir / str(num))
            if record is not None and record.ok:
                log.info("job %d: finished, skipping", num)
                continue
            if record is not None and record.status in ("failed", "diverged"):
                log.info(
                    "job %d: %s at %s last time, running it again", num, record.status, record.stage
                )
            try:
                self.validate_batch_is_legal([job])
            except Exception as err:  # a bad combination: this job's record, not the sweep's end
                self._fail(sweep_dir, num, job, "config", one_line(err))
                continue
            todo.append((num, job))

        size = self.max_batch_size or len(todo) or 1
        returns = []
        for start in range(0, len(todo), size):
            returns.append(self._launch(sweep_dir, todo[start : start + size]))
        return returns

    def _launch(self, sweep_dir: Path, batch: Sequence[Job]) -> Sequence[JobReturn]:
        hydra_overrides = [*self._width(len(batch))]
        overrides = [[*job, f"{SUBDIR_OVERRIDE}={num}", *hydra_overrides] for num, job in batch]
        try:
            results = list(self.launcher.launch(overrides, initial_job_idx=batch[0][0]))
        except Exception as err:  # the launcher itself broke, e.g. a worker process was killed
            reason = _short(one_line(err))
            log.error("The launcher stopped: %s", reason)
            # A broken process pool takes every running job down with the one that died:
            # each gets a second try (resuming from its checkpoint); dying twice is its failure.
            again, died_now = [], False
            for num, job in batch:
                record = read_record(sweep_dir / str(num))
                if record is None:  # never started
                    again.append((num, job))
                elif record.ended:
                    continue
                elif num in self._died:
                    self._settle(sweep_dir, num, job, f"its process died twice ({reason})")
                else:
                    self._died.add(num)
                    again.append((num, job))
                    died_now = True
            if again and (died_now or len(again) < len(batch)):
                return self._launch(sweep_dir, again)
            for num, job in again:
                self._fail(
                    sweep_dir, num, job, "config", f"the launcher could not start it: {reason}"
                )
            return []
        for (num, job), result in zip(batch, results, strict=False):
            reason = "its process ended without a record"
            if result.status == JobStatus.FAILED:
                reason = f"its process died ({one_line(result._return_value)})"
            self._settle(sweep_dir, num, job, reason)
        return results

    def _width(self, jobs: int) -> list[str]:
        """Joblib runs at most as many jobs at once as there are: each job's share of the
        cores (``auglab.runtime.set_threads``) is then read from ``hydra.launcher.n_jobs``."""
        settings = getattr(self.launcher, "joblib", None)
        if not isinstance(settings, dict):
            return []
        width = min(jobs, joblib_width(settings.get("n_jobs")))
        settings["n_jobs"] = width
        return [f"hydra.launcher.n_jobs={width}"]

    def _settle(self, sweep_dir: Path, num: int, job: list[str], reason: str) -> None:
        """A launched job that left no end to its record failed where it was."""
        record = read_record(sweep_dir / str(num))
        if record is not None and record.ended:
            return
        stage = record.stage if record is not None and record.stage else "fit"
        self._fail(sweep_dir, num, job, stage, f"{reason}; rerun the sweep to resume it")

    @staticmethod
    def _fail(sweep_dir: Path, num: int, job: list[str], stage: str, error: str) -> None:
        job_dir = sweep_dir / str(num)
        job_dir.mkdir(parents=True, exist_ok=True)
        previous = read_record(job_dir)
        record = previous or JobRecord(status="failed", overrides=list(job), job_num=num)
        record.status, record.stage, record.error = "failed", stage, error
        write_record(record, job_dir)
        log.error("job %d: failed at %s: %s", num, stage, error)


def _short(reason: str) -> str:
    """A launcher's error cut to its first sentence, keeping how the worker ended."""
    first = reason.split(". ")[0]
    ended = re.search(r"exit codes? of the workers? (?:are|is) \{[^}]*\}", reason)
    return f"{first}; {ended.group(0)}" if ended and ended.group(0) not in first else first


def _numbered_subdirs(config: Any) -> bool:
    subdir = OmegaConf.to_container(config.hydra.sweep, resolve=False).get("subdir")
    return str(subdir).replace(" ", "") == "${hydra.job.num}"


def job_number(hydra_cfg: Any) -> int | None:
    """This job's number in its sweep: the subdir the sweeper gave it, else Hydra's."""
    for override in hydra_cfg.overrides.hydra or []:
        key, _, value = str(override).partition("=")
        if key == SUBDIR_OVERRIDE and value.isdigit():
            return int(value)
    return hydra_cfg.job.get("num")
