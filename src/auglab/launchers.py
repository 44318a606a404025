"""Submitit launchers (SLURM and local) that wait for every job, whatever happens to one.

The plugin's launcher collects results in job order and raises at the first job that
died (preempted past its requeues, out of memory, node failure), while later jobs
may still be running. Here each job's result is collected on its own; a dead job
becomes a FAILED ``JobReturn`` that ``auglab.sweeper`` records, and the sweep goes on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from hydra.core.utils import JobReturn, JobStatus
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import LocalLauncher, SlurmLauncher

from auglab.slurm import SchedulerEnded, scheduler_end


@contextlib.contextmanager
def _results_never_raise() -> Iterator[None]:
    """The one workaround here: hydra-submitit-launcher's ``launch`` submits the array and
    returns ``[j.results()[0] for j in jobs]`` with no hook in between, so the only ways to
    collect each job on its own are swapping ``Job.results`` for the call, or copying
    its 60-line ``launch``. The swap is undone when ``launch`` returns."""
    import submitit

    original = submitit.Job.results

    def results(job: submitit.Job) -> list:
        try:
            return original(job)
        except Exception as err:  # noqa: BLE001 - the job's failure becomes its return
            # A job SLURM cancelled or timed out stops at its next batch and leaves no
            # result (auglab.lifecycle): only the scheduler knows why it ended.
            ended = scheduler_end(job) if isinstance(job, submitit.SlurmJob) else None
            return [_failed(SchedulerEnded(ended) if ended else err)]

    submitit.Job.results = results
    try:
        yield
    finally:
        submitit.Job.results = original


def _failed(err: BaseException) -> JobReturn:
    failed = JobReturn()
    failed.status, failed._return_value = JobStatus.FAILED, err
    return failed


class _WaitForEveryJob:
    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        with _results_never_raise():
            return super().launch(job_overrides, initial_job_idx)


class SubmititSlurmLauncher(_WaitForEveryJob, SlurmLauncher):
    pass


class SubmititLocalLauncher(_WaitForEveryJob, LocalLauncher):
    pass
