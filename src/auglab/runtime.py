"""Process-wide settings that keep small-model training fast.

torch is imported inside the functions that use it: a sweep's parent process (the
sweeper and launcher) imports this module and never needs torch's 1 s of start-up.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path
from typing import Any

from auglab.checks import check_int
from auglab.errors import ConfigError


def skip_cuda_probe_without_gpu() -> None:
    """On a machine with no usable GPU, tell torch so once, for this process.

    A CUDA build of torch on a CPU-only machine re-probes NVML (a failing
    ``dlopen``) inside every ``optimizer.step()``: ~0.3 ms a step, 8% of LeNet-5's
    step on 2 cores (bench/overhead.py). An empty ``CUDA_VISIBLE_DEVICES``
    answers that probe at once; with no GPU present it changes nothing else.
    """
    import torch

    if "CUDA_VISIBLE_DEVICES" not in os.environ and not torch.cuda.is_available():
        os.environ["CUDA_VISIBLE_DEVICES"] = ""


def gpu_visible() -> bool:
    """Whether this process can see a CUDA GPU, answered without importing torch."""
    if "torch" in sys.modules:
        return sys.modules["torch"].cuda.is_available()
    if os.environ.get("CUDA_VISIBLE_DEVICES") in ("", "-1"):
        return False
    return any(Path("/dev").glob("nvidia[0-9]*"))


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed blocks for reuse instead of giving them back to the OS.

    By default glibc serves blocks above a (dynamic) threshold with fresh ``mmap``
    pages and trims the heap's top at every large free, so each evaluation batch's
    activations (4.8 MB a layer for LeNet-5 at batch 256) are page-faulted in anew:
    a 100-image E1 job, which is mostly validation, fits in 7.0 s instead of 9.6 s on
    one thread. Raising both thresholds keeps the process at its peak footprint
    (small for these datasets) and changes no result. True when glibc took both.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl): nothing to tune
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    mmap_ok = libc.mallopt(m_mmap_threshold, 32 * 2**20)  # glibc's largest allowed value
    return bool(mmap_ok and libc.mallopt(m_trim_threshold, 2**30))


def rank() -> int:
    """This process's global rank, read from the environment as Lightning's
    ``rank_zero_only`` reads it (without importing Lightning)."""
    for key in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        if os.environ.get(key) is not None:
            return int(os.environ[key])
    return 0


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


def cluster_plugins() -> list[Any]:
    """Lightning's SLURM environment, without its own requeueing, inside a SLURM job.

    Left to itself, Lightning finds SLURM and installs a SIGUSR1 handler that saves an
    ``hpc_ckpt`` and calls ``scontrol requeue``, beside submitit's SIGUSR2 handler: two
    owners of one decision. submitit owns it here (it counts timeouts against
    ``max_num_timeout`` and requeues preemptions); Lightning keeps reading ranks and the
    master address from SLURM's variables, which DDP across tasks needs."""
    from lightning.pytorch.plugins.environments import SLURMEnvironment

    return [SLURMEnvironment(auto_requeue=False)] if SLURMEnvironment.detect() else []


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


def set_threads(threads: int | None, hydra_cfg: Any | None = None) -> int:
    """torch's intra-op threads for this job: ``threads``, or the cores shared out among the
    jobs running beside it, so a parallel sweep never oversubscribes the machine."""
    import torch

    if threads is None:
        threads = max(1, available_cores() // parallel_jobs(hydra_cfg))
    threads = check_int(threads, "threads", 1, hint="or null for automatic")
    torch.set_num_threads(threads)
    return threads


def prepare_spawn(trainer: Any, hydra_cfg: Any | None) -> None:
    """Strategies that spawn their processes (ddp_spawn) pickle the model, data and
    callbacks to them. torch's default route, a file descriptor per storage, fails to
    rebuild them here ("unable to resize file"); named files in shared memory work.
    Inside a joblib worker the spawned processes cannot start at all (they look for
    loky's start method): refused before training, with the two ways out."""
    import torch

    if not spawned(trainer):
        return
    if "joblib" in sweep_launcher(hydra_cfg):
        raise ConfigError(
            "trainer=ddp_spawn cannot start its processes inside a joblib worker: add "
            "hydra/launcher=basic to this sweep, or use trainer=ddp (or ddp_cpu)"
        )
    torch.multiprocessing.set_sharing_strategy("file_system")


def spawned(trainer: Any) -> bool:
    """Whether fit and test run in processes the strategy spawns (not in this one)."""
    from lightning.pytorch.strategies.launchers import _MultiProcessingLauncher

    return isinstance(getattr(trainer.strategy, "launcher", None), _MultiProcessingLauncher)
