"""What a job asks SLURM about itself: whether it runs under submitit, which signal means
"preempted or out of time", and why the scheduler is ending it.

Who owns requeueing: submitit. It sends each job ``--signal=USR2@signal_delay_s``; on
that signal its handler asks the job's ``checkpoint()`` for a resubmission and runs
``scontrol requeue`` (a preemption always, a timeout up to ``max_num_timeout`` times).
Lightning's own SLURM requeueing is switched off (``cluster_plugins``).
auglab defers submitit's handler until the job has stopped between batches and written
its record (``auglab.process.JobStop``), so the kill never lands in a checkpoint write
and the requeued job always finds a finished epoch to resume from.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

#: States in which the scheduler ends a job for good: the job's record says ``failed``
#: with the state. A requeue (REQUEUED, PENDING, PREEMPTED with requeue) is not an end.
ENDED = ("CANCELLED", "TIMEOUT", "DEADLINE", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL")


def under_submitit() -> bool:
    """Whether this process is a job that submitit started on SLURM."""
    return os.environ.get("SUBMITIT_EXECUTOR") == "slurm" and "SLURM_JOB_ID" in os.environ


def requeue_signal() -> signal.Signals:
    """The signal submitit takes for "preempted or near the time limit" (its default USR2)."""
    name = os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2").upper().removeprefix("SIG")
    return signal.Signals[f"SIG{name}"]


class SchedulerEnded(Exception):
    """SLURM ended the job for good (``scancel``, the time limit, a node failure): its
    state, e.g. ``CANCELLED by 0``, is the message. Made by ``auglab.launchers`` for a job
    that left no result (it exits 143 after SIGTERM); ``auglab.sweeper`` records it
    ``failed``."""


def scheduler_end(job: Any, wait_s: float = 60.0) -> str | None:
    """A finished submitit SLURM job's final state when SLURM ended it, else None.

    Inside the job SLURM's reason cannot be read (the job is COMPLETING while its
    processes stop), so the submitting side asks ``sacct`` once the job has left the
    queue, as submitit itself does."""
    deadline = time.monotonic() + wait_s
    while not job.watcher.is_done(job.job_id, mode="force") and time.monotonic() < deadline:
        time.sleep(1.0)
    state = job.watcher.get_state(job.job_id, mode="cache")
    return state if state.split(" ")[0] in ENDED else None


def cluster_plugins() -> list[Any]:
    """Lightning's SLURM environment, without its own requeueing, inside a SLURM job.

    Left to itself, Lightning finds SLURM and installs a SIGUSR1 handler that saves an
    ``hpc_ckpt`` and calls ``scontrol requeue``, beside submitit's SIGUSR2 handler: two
    owners of one decision. submitit owns it here (it counts timeouts against
    ``max_num_timeout`` and requeues preemptions); Lightning keeps reading ranks and the
    master address from SLURM's variables, which DDP across tasks needs. Lightning is
    imported here, by the train task only: a sweep's parent process reads the rest."""
    from lightning.pytorch.plugins.environments import SLURMEnvironment

    return [SLURMEnvironment(auto_requeue=False)] if SLURMEnvironment.detect() else []


def link_logs(output_dir: Path) -> None:
    """Links in the job dir to this SLURM job's stdout and stderr, which submitit writes
    under the sweep's ``.submitit/<job id>/``: a job's logs, next to the job."""
    try:
        from submitit import JobEnvironment

        paths = JobEnvironment().paths
        for name, target in (("slurm.out", paths.stdout), ("slurm.err", paths.stderr)):
            link = output_dir / name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(os.path.relpath(target, output_dir))
    except (ImportError, OSError, RuntimeError):  # logs stay where submitit put them
        return
