"""Strategies that spawn their processes (``ddp_spawn``, ``ddp_fork``, ``ddp_notebook``):
fit and test run in those processes, not in this one. Imported by the train task only.

The one private name of Lightning that auglab relies on lives here alone: Lightning says
whether a strategy spawns its processes only through the class of ``strategy.launcher``,
``_MultiProcessingLauncher``, and no public attribute tells it from the launcher that
re-runs the script (``ddp``). ``tests/test_spawn.py`` fails when Lightning renames or
moves it.
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.strategies.launchers import _MultiProcessingLauncher

from auglab.errors import ConfigError
from auglab.machine import sweep_launcher


def spawned(trainer: Any) -> bool:
    """Whether fit and test run in processes the strategy spawns (not in this one)."""
    return isinstance(getattr(trainer.strategy, "launcher", None), _MultiProcessingLauncher)


def prepare_spawn(trainer: Any, hydra_cfg: Any | None) -> None:
    """Spawned processes get the model, data and callbacks pickled. torch's default route,
    a file descriptor per storage, fails to rebuild them here ("unable to resize file");
    named files in shared memory work. Inside a joblib worker the spawned processes cannot
    start at all (they look for loky's start method): refused before training, with the
    two ways out."""
    if not spawned(trainer):
        return
    if "joblib" in sweep_launcher(hydra_cfg):
        raise ConfigError(
            "trainer=ddp_spawn cannot start its processes inside a joblib worker: add "
            "hydra/launcher=basic to this sweep, or use trainer=ddp (or ddp_cpu)"
        )
    torch.multiprocessing.set_sharing_strategy("file_system")
