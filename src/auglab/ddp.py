"""DDP as a job meets it: this process's rank, one job's process group and environment
kept from the next job, and the script its child processes re-run.

Lightning's ``ddp`` launcher starts each child process as ``python <sys.argv[0]>
<sys.argv[1:]> hydra.run.dir=<run dir>``: the children re-run the script, not a function.
In a multirun that would start the whole sweep again in each child, and in a joblib or
submitit worker ``__main__`` is the worker's own module, so for the job's duration
``sys.argv`` and ``__main__.__spec__`` name the entry script and this job's overrides
(``children_rerun_this_job``): the one place auglab rewrites another package's state.

torch is never imported here: a sweep's parent process reads ``rank`` too.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from omegaconf import read_write

import __main__

#: Set in the parent process by Lightning's DDP launcher; left behind, the next
#: DDP job believes its processes were started externally and waits forever.
DDP_ENV = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE", "GLOBAL_RANK")


def rank() -> int:
    """This process's global rank, read from the environment as Lightning's
    ``rank_zero_only`` reads it (without importing Lightning)."""
    for key in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        if os.environ.get(key) is not None:
            return int(os.environ[key])
    return 0


@contextlib.contextmanager
def one_job(hydra_cfg: Any, entry: str, multirun: bool) -> Iterator[None]:
    """DDP process groups and the environment variables Lightning's DDP launcher sets
    would otherwise leak from one job into the next in the same process (Hydra's basic
    launcher runs every job of a sweep in one process)."""
    saved_env = {key: os.environ.get(key) for key in DDP_ENV}
    try:
        with children_rerun_this_job(hydra_cfg, entry, multirun):
            yield
    finally:
        torch = sys.modules.get("torch")
        distributed = getattr(torch, "distributed", None)
        if distributed is not None and distributed.is_available() and distributed.is_initialized():
            distributed.destroy_process_group()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def children_rerun_this_job(hydra_cfg: Any, entry: str, multirun: bool) -> Iterator[None]:
    """In a multirun, DDP's children run the entry script with this job's overrides and
    its output dir as ``hydra.run.dir`` (see the module's docstring); restored after."""
    if not multirun:
        yield
        return
    argv, spec = sys.argv, getattr(__main__, "__spec__", None)
    sys.argv = [entry, *hydra_cfg.overrides.task]
    __main__.__spec__ = None  # Lightning: "python <sys.argv[0]>", not "python -m <spec>"
    with read_write(hydra_cfg.run):
        previous, hydra_cfg.run.dir = hydra_cfg.run.dir, hydra_cfg.runtime.output_dir
    try:
        yield
    finally:
        sys.argv, __main__.__spec__ = argv, spec
        with read_write(hydra_cfg.run):
            hydra_cfg.run.dir = previous
