"""Process-wide settings that keep small-model training fast."""

from __future__ import annotations

import os
from typing import Any

import torch


def skip_cuda_probe_without_gpu() -> None:
    """On a machine with no usable GPU, tell torch so once, for this process.

    A CUDA build of torch on a CPU-only machine re-probes NVML (a failing
    ``dlopen``) inside every ``optimizer.step()``: ~0.3 ms a step, 8% of LeNet-5's
    step on 2 cores (bench/overhead.py). An empty ``CUDA_VISIBLE_DEVICES``
    answers that probe at once; with no GPU present it changes nothing else.
    """
    if "CUDA_VISIBLE_DEVICES" not in os.environ and not torch.cuda.is_available():
        os.environ["CUDA_VISIBLE_DEVICES"] = ""


def available_cores() -> int:
    """Cores this process may run on (a SLURM or taskset allotment, not the whole machine)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def parallel_jobs(hydra_cfg: Any | None) -> int:
    """How many jobs of this sweep run at once on this machine, from the launcher's config."""
    if hydra_cfg is None or str(hydra_cfg.mode) != "RunMode.MULTIRUN":
        return 1
    launcher = hydra_cfg.launcher
    target = str(launcher.get("_target_", ""))
    if "joblib" in target.lower():
        n = launcher.get("n_jobs") or 1
        return max(1, available_cores() + 1 + n if n < 0 else n)  # joblib: -1 is every core
    if "submitit" in target.lower() and "local" in target.lower():  # every job at once
        return max(1, available_cores() // (launcher.get("cpus_per_task") or 1))
    return 1  # one job at a time, or a cluster job with its own allotment


def set_threads(threads: int | None, hydra_cfg: Any | None = None) -> int:
    """torch's intra-op threads for this job: ``threads``, or the cores shared out among the
    jobs running beside it, so a parallel sweep never oversubscribes the machine."""
    if threads is None:
        threads = max(1, available_cores() // parallel_jobs(hydra_cfg))
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        from auglab.errors import ConfigError

        raise ConfigError(f"threads={threads!r} must be a whole number >= 1, or null for automatic")
    torch.set_num_threads(threads)
    return threads


def prepare_spawn(trainer: Any, hydra_cfg: Any | None) -> None:
    """Strategies that spawn their processes (ddp_spawn) pickle the model, data and
    callbacks to them. torch's default route, a file descriptor per storage, fails to
    rebuild them here ("unable to resize file"); named files in shared memory work.
    Inside a joblib worker the spawned processes cannot start at all (they look for
    loky's start method): refused before training, with the two ways out."""
    if not spawned(trainer):
        return
    launcher = str(hydra_cfg.launcher.get("_target_", "")) if hydra_cfg is not None else ""
    if "joblib" in launcher.lower() and str(hydra_cfg.mode) == "RunMode.MULTIRUN":
        from auglab.errors import ConfigError

        raise ConfigError(
            "trainer=ddp_spawn cannot start its processes inside a joblib worker: add "
            "hydra/launcher=basic to this sweep, or use trainer=ddp (or ddp_cpu)"
        )
    torch.multiprocessing.set_sharing_strategy("file_system")


def spawned(trainer: Any) -> bool:
    """Whether fit and test run in processes the strategy spawns (not in this one)."""
    from lightning.pytorch.strategies.launchers import _MultiProcessingLauncher

    return isinstance(getattr(trainer.strategy, "launcher", None), _MultiProcessingLauncher)
