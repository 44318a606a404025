"""While a sweep runs: a line each time jobs end, read from their records.

``Progress: 12/48 finished, 1 failed, 35 left; about 40 min left (65 s a job over the 13
ended)`` (failed and stopped jobs named when there are any). A thread of the sweep's process polls the records (``auglab.record``) of the jobs
it launched, so the line is the same whatever runs them: this process (basic launcher),
joblib's workers, or SLURM's nodes while the submitter waits. The time left is the wall
time so far per ended job, times the jobs left: jobs running side by side count as they
should. When the jobs log to W&B the same figures go to a run of the sweep
(``job_type=progress``, in ``<sweep dir>/progress_run/wandb/``), unless the jobs run in this
very process (basic launcher), whose W&B runs are theirs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auglab.errors import one_line
from auglab.estimate import duration
from auglab.record import RECORD_FILE, read_record
from auglab.report.wandb_target import Target

log = logging.getLogger(__name__)

#: Seconds between two looks at the records.
POLL_S = 2.0
PROGRESS_RUN_DIR = "progress_run"


@dataclass(frozen=True)
class Tally:
    """The launched jobs by how they stand, and the wall seconds since the launch."""

    total: int
    finished: int = 0
    failed: int = 0  # failed or diverged
    stopped: int = 0  # interrupted: a rerun resumes them
    elapsed_s: float = 0.0

    @property
    def ended(self) -> int:
        return self.finished + self.failed + self.stopped

    @property
    def left(self) -> int:
        return self.total - self.ended

    @property
    def seconds_left(self) -> float | None:
        """Wall seconds per ended job so far, times the jobs left; None before any ended."""
        return self.left * self.elapsed_s / self.ended if self.ended else None

    def line(self) -> str:
        failed = f", {self.failed} failed" if self.failed else ""
        stopped = f", {self.stopped} stopped" if self.stopped else ""
        head = f"Progress: {self.finished}/{self.total} finished{failed}{stopped}, {self.left} left"
        if self.left == 0:
            return f"{head}; all ended in {duration(self.elapsed_s)}"
        if not self.ended:
            return head
        per_job = self.elapsed_s / self.ended
        return (
            f"{head}; about {duration(self.seconds_left or 0)} left "
            f"({per_job:.0f} s a job over the {self.ended} ended)"
        )

    def figures(self) -> dict[str, float]:
        """The same figures for W&B, under ``progress/``."""
        return {
            "progress/finished": self.finished,
            "progress/failed": self.failed,
            "progress/stopped": self.stopped,
            "progress/left": self.left,
            "progress/total": self.total,
            "progress/elapsed_s": round(self.elapsed_s, 1),
            "progress/seconds_left": -1.0 if self.seconds_left is None else self.seconds_left,
        }


def tally(sweep_dir: Path, job_nums: Sequence[int], since: float, now: float) -> Tally:
    """How the jobs ``job_nums`` of ``sweep_dir`` stand: a job counts as ended once its
    record was written at or after ``since`` (the launch, by the clock of ``time.time``) and
    says it ended, so an old record of a job run again never counts."""
    counts = {"finished": 0, "failed": 0, "stopped": 0}
    for num in job_nums:
        job_dir = Path(sweep_dir) / str(num)
        try:
            written = (job_dir / RECORD_FILE).stat().st_mtime
        except OSError:
            continue
        # coarse file-system clocks stamp a few ms behind time.time(): a little slack
        record = read_record(job_dir) if written >= since - 0.05 else None
        if record is None or not record.ended:
            continue
        key = {"finished": "finished", "interrupted": "stopped"}.get(record.status, "failed")
        counts[key] += 1
    return Tally(total=len(job_nums), elapsed_s=max(0.0, now - since), **counts)


class SweepProgress:
    """A thread that says a progress line each time more of the launched jobs have ended
    (and logs it to W&B with ``wandb_to``), until the ``with`` block ends."""

    def __init__(
        self,
        sweep_dir: Path,
        job_nums: Sequence[int],
        wandb_to: Target | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        self.sweep_dir, self.job_nums = Path(sweep_dir), list(job_nums)
        self.wandb_to, self.poll_s = wandb_to, poll_s
        self.since = time.time()
        self.last: Tally | None = None
        self.run: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="sweep-progress", daemon=True)

    def __enter__(self) -> SweepProgress:
        self.since = time.time()
        if self.job_nums:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.job_nums:
            return
        self._stop.set()
        self._thread.join()
        self.poll()  # the jobs that ended since the last look
        self._finish_run()

    def poll(self) -> Tally:
        """Look at the records once; say the line when more jobs ended than last time."""
        now = tally(self.sweep_dir, self.job_nums, self.since, time.time())
        if now.ended and (self.last is None or now.ended != self.last.ended):
            log.info("%s", now.line())
            self._to_wandb(now)
            self.last = now
        return now

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.poll()
            except OSError as err:  # a record being replaced, a disk hiccup: look again later
                log.debug("progress: %s", one_line(err))

    def _to_wandb(self, now: Tally) -> None:
        if self.wandb_to is None:
            return
        try:
            if self.run is None:
                self.run = start_progress_run(self.wandb_to, self.sweep_dir)
            self.run.log(now.figures())
        except Exception as err:  # wandb missing or failing: the console line is said anyway
            log.warning("W&B progress run not logged (%s)", one_line(err))
            self.wandb_to = None

    def _finish_run(self) -> None:
        if self.run is None:
            return
        try:
            self.run.finish()
        except Exception as err:
            log.warning("W&B progress run not finished (%s)", one_line(err))
        self.run = None


def start_progress_run(to: Target, sweep_dir: Path) -> Any:
    """The sweep's W&B progress run (a rerun of the sweep continues the same run)."""
    return to.start_sweep_run(
        Path(sweep_dir) / PROGRESS_RUN_DIR, "progress", {"sweep_dir": str(sweep_dir)}
    )
