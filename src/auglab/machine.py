"""What this machine gives a job: its cores (a taskset, cgroup or SLURM allotment counts),
whether a GPU is visible, and how a sweep's jobs share the cores out as torch threads.

torch is imported inside ``set_threads`` only: a sweep's parent process reads the rest
and never needs torch's 1 s of start-up.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from auglab.checks import check_int


def gpu_visible() -> bool:
    """Whether this process can see a CUDA GPU, answered without importing torch."""
    if "torch" in sys.modules:
        return sys.modules["torch"].cuda.is_available()
    if os.environ.get("CUDA_VISIBLE_DEVICES") in ("", "-1"):
        return False
    return any(Path("/dev").glob("nvidia[0-9]*"))


def available_cores() -> int:
    """Cores this process may run on: a taskset or cgroup allotment, and inside a SLURM job
    the cores SLURM gave each task. A cluster without cgroups (``TaskPlugin=task/none``)
    leaves every core of the node in the affinity mask, so only SLURM's own number keeps a
    ``--cpus-per-task=1`` job from running on all of them beside other jobs."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    slurm = slurm_cpus_per_task()
    return min(cores, slurm) if slurm else cores


def slurm_cpus_per_task() -> int | None:
    """The cores SLURM allotted each task of this job, or None outside a SLURM job."""
    if "SLURM_JOB_ID" not in os.environ:
        return None
    per_task = os.environ.get("SLURM_CPUS_PER_TASK", "")
    if per_task.isdigit() and int(per_task) > 0:
        return int(per_task)
    on_node, tasks = (
        os.environ.get("SLURM_CPUS_ON_NODE", ""),
        os.environ.get("SLURM_NTASKS_PER_NODE", "1"),
    )
    if on_node.isdigit() and int(on_node) > 0:
        return max(1, int(on_node) // (int(tasks) if tasks.isdigit() and int(tasks) > 0 else 1))
    return None


def check_loader_workers(workers: int, threads: int) -> str | None:
    """A warning line when DataLoader workers beside the torch threads need more cores than
    this job has (a SLURM allotment counts): the fix is the user's, since the number of
    workers changes which augmentation draws each batch gets."""
    cores = available_cores()
    if workers == 0 or workers + threads <= cores:
        return None
    where = " (SLURM's --cpus-per-task)" if slurm_cpus_per_task() else ""
    return (
        f"data.num_workers={workers} loader processes beside {threads} torch thread(s) "
        f"need more than the {cores} core(s) this job has{where}: lower data.num_workers "
        "or threads, or ask for more cores"
    )


def joblib_width(n_jobs: int | None) -> int:
    """Processes joblib runs for ``n_jobs``: -1 is every core, -2 all but one, and so on."""
    n = int(n_jobs or 1)
    return max(1, available_cores() + 1 + n if n < 0 else n)


def sweep_launcher(hydra_cfg: Any | None) -> str:
    """The launcher's ``_target_``, lower-cased, in a multirun; "" for a single run."""
    if hydra_cfg is None or str(hydra_cfg.mode) != "RunMode.MULTIRUN":
        return ""
    return str(hydra_cfg.launcher.get("_target_", "")).lower()


def parallel_jobs(hydra_cfg: Any | None) -> int:
    """How many jobs of this sweep run at once on this machine, from the launcher's config."""
    launcher = sweep_launcher(hydra_cfg)
    if "joblib" in launcher:
        return joblib_width(hydra_cfg.launcher.get("n_jobs"))
    if "submitit" in launcher and "local" in launcher:  # every job at once
        return max(1, available_cores() // (hydra_cfg.launcher.get("cpus_per_task") or 1))
    return 1  # one job at a time, or a cluster job with its own allotment


def default_parallel_jobs() -> int:
    """Default width of a parallel sweep: one job per core on a CPU machine (each then trains
    on one thread); one at a time where a GPU is (jobs would share it, not split it)."""
    return 1 if gpu_visible() else available_cores()


def set_threads(threads: int | None, hydra_cfg: Any | None = None) -> int:
    """torch's intra-op threads for this job: ``threads``, or the cores shared out among the
    jobs running beside it, so a parallel sweep never oversubscribes the machine."""
    import torch

    if threads is None:
        threads = max(1, available_cores() // parallel_jobs(hydra_cfg))
    threads = check_int(threads, "threads", 1, hint="or null for automatic")
    torch.set_num_threads(threads)
    return threads
