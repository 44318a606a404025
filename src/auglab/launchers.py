"""Submitit launchers (SLURM and local) that wait for every job, whatever happens to one.

The plugin's launcher collects results in job order and raises at the first job that
died (preempted past its requeues, out of memory, node failure), while later jobs
may still be running. These launchers own their submission, through submitit's public
executor API (``AutoExecutor``, ``map_array``, ``Job.results``) and the plugin's public
job function (the launcher itself, called in each job, with its ``checkpoint`` for
requeues): each job's result is collected on its own; a dead job becomes a FAILED
``JobReturn`` that ``auglab.sweeper`` records, and the sweep goes on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import BaseSubmititLauncher
from omegaconf import OmegaConf

from auglab.slurm import SchedulerEnded, scheduler_end

log = logging.getLogger(__name__)

#: Launcher settings that go to the executor's constructor, not to its parameters.
INIT_KEYS = {"max_num_timeout"}


class _WaitForEveryJob(BaseSubmititLauncher):
    #: submitit's cluster: "slurm" or "local".
    cluster = "abstract"

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        assert self.config is not None and len(job_overrides) > 0
        executor = self.executor()
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        log.info(f"Submitit '{self.cluster}' sweep output dir : {sweep_dir}")
        sweep_dir.mkdir(parents=True, exist_ok=True)
        if "mode" in self.config.hydra.sweep:
            os.chmod(sweep_dir, mode=int(str(self.config.hydra.sweep.mode), 8))
        job_params: list[Any] = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            job_params.append(
                (
                    list(overrides),
                    "hydra.sweep.dir",
                    idx,
                    f"job_id_for_{idx}",
                    Singleton.get_state(),
                )
            )
        jobs = executor.map_array(self, *zip(*job_params, strict=True))
        return [collect(job) for job in jobs]

    def executor(self) -> Any:
        """A submitit executor with the launcher's settings, as the plugin makes it: the
        plugin's own keys (``BaseQueueConf``) as they are, the others prefixed by the
        cluster's name (``slurm_partition``)."""
        import submitit  # ~0.3 s, only when a sweep is launched (as the plugin does)

        init = {f"{self.cluster}_{k}": v for k, v in self.params.items() if k in INIT_KEYS}
        executor = submitit.AutoExecutor(
            cluster=self.cluster, folder=self.params["submitit_folder"], **init
        )
        shared = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(
            **{
                k if k in shared else f"{self.cluster}_{k}": v
                for k, v in self.params.items()
                if k not in INIT_KEYS | {"submitit_folder"}
            }
        )
        return executor


def collect(job: Any) -> JobReturn:
    """One job's result; a job that died is a FAILED return, never an exception here."""
    import submitit

    try:
        return job.results()[0]
    except Exception as err:  # noqa: BLE001 - the job's failure becomes its return
        # A job SLURM cancelled or timed out stops at its next batch and leaves no
        # result (auglab.guard): only the scheduler knows why it ended.
        ended = scheduler_end(job) if isinstance(job, submitit.SlurmJob) else None
        return failed(SchedulerEnded(ended) if ended else err)


def failed(err: BaseException) -> JobReturn:
    result = JobReturn(status=JobStatus.FAILED)
    result.return_value = err  # Hydra's public setter
    return result


class SubmititSlurmLauncher(_WaitForEveryJob):
    cluster = "slurm"


class SubmititLocalLauncher(_WaitForEveryJob):
    cluster = "local"
