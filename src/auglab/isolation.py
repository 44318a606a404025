"""Run one job of a sweep so that the next job, in the same process, starts clean.

Hydra's basic launcher runs every job of a multirun in one Python process.
W&B runs, DDP process groups and the environment variables Lightning's DDP
launcher sets would otherwise leak from one job into the next.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import read_write

#: Set in the parent process by Lightning's DDP launcher; left behind, the next
#: DDP job believes its processes were started externally and waits forever.
DDP_ENV = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE", "GLOBAL_RANK")


@contextlib.contextmanager
def isolated_job() -> Iterator[None]:
    saved_env = {key: os.environ.get(key) for key in DDP_ENV}
    try:
        with _ddp_children_rerun_this_job():
            yield
    finally:
        wandb = sys.modules.get("wandb")
        if wandb is not None and wandb.run is not None:
            wandb.finish()  # one W&B run per job
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _ddp_children_rerun_this_job() -> Iterator[None]:
    """Make Lightning's DDP launcher restart *this job*, not the whole sweep.

    Lightning re-runs ``__main__`` with ``sys.argv`` plus ``hydra.run.dir=<run dir>``
    in every child process; in a multirun that would start the sweep again in each
    child, and in a joblib or submitit worker ``__main__`` is the worker's own module.
    The children run ``auglab/train.py`` with this job's overrides instead.
    """
    hc = HydraConfig.get()
    if hc.mode != RunMode.MULTIRUN:
        yield
        return
    import __main__
    from auglab import train

    argv, spec = sys.argv, getattr(__main__, "__spec__", None)
    sys.argv = [train.__file__, *hc.overrides.task]
    __main__.__spec__ = None  # Lightning: "python <sys.argv[0]>", not "python -m <spec>"
    with read_write(hc.run):
        previous, hc.run.dir = hc.run.dir, hc.runtime.output_dir
    try:
        yield
    finally:
        sys.argv, __main__.__spec__ = argv, spec
        with read_write(hc.run):
            hc.run.dir = previous
