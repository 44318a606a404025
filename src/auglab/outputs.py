"""What a job leaves in its output dir, tidying up after a config error, and checking
before anything is written that the output dir can be written at all."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from auglab.ddp import rank
from auglab.plan import other_config

RESOLVED_CONFIG_FILE = "config.yaml"


def write_resolved_config(cfg: DictConfig, output_dir: Path) -> None:
    """The job's config with every interpolation resolved: what actually ran."""
    (output_dir / RESOLVED_CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg, resolve=True))


def discard_job_dir(output_dir: Path, job_name: str, log_dir: Path) -> None:
    """Remove only what Hydra wrote for a single run that failed before training.

    Anything else already in the directory (an earlier run's files) is kept;
    emptied parents are removed up to ``log_dir``, never above it.
    """
    shutil.rmtree(output_dir / ".hydra", ignore_errors=True)
    (output_dir / f"{job_name}.log").unlink(missing_ok=True)
    _rmdir_if_empty(output_dir)
    log_dir = log_dir.resolve()
    for parent in output_dir.resolve().parents:
        if parent != log_dir and log_dir not in parent.parents:
            break
        if not _rmdir_if_empty(parent):
            break


def _rmdir_if_empty(path: Path) -> bool:
    try:
        path.rmdir()
        return True
    except OSError:
        return False


class WritableOutputs(Callback):
    """Before Hydra creates the run or sweep dir: one line, not a traceback, when it can't."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        run_dir = Path(str(config.hydra.run.dir))
        check_writable(run_dir, "hydra.run.dir")
        check_one_config(run_dir, config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        check_writable(Path(str(config.hydra.sweep.dir)), "hydra.sweep.dir")


def check_one_config(run_dir: Path, config: DictConfig) -> None:
    """Exit with one line, before Hydra writes into it, when ``run_dir`` holds a run of
    another config: its record or checkpoints are never reported or resumed as this one's."""
    if rank() != 0 or not run_dir.is_dir():
        return  # DDP's other processes re-enter the dir their rank 0 checked
    what = other_config(run_dir, config)
    if what is not None:
        print(f"auglab: error: {other_config_line(run_dir, what)}", file=sys.stderr)
        sys.exit(2)


def other_config_line(run_dir: Path, what: str) -> str:
    return (
        f"{run_dir} holds a run of another config ({what}): leave hydra.run.dir unset for a "
        f"new dir, or delete {run_dir} to train this config there"
    )


def check_writable(directory: Path, key: str) -> None:
    """Exit with one line if ``directory`` cannot be created or written; create nothing."""
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    problem = None
    if not existing.is_dir():
        problem = f"{existing} is a file, not a folder"
    elif not os.access(existing, os.W_OK | os.X_OK):
        problem = f"{existing} is not writable"
    if problem:
        print(
            f"auglab: error: cannot write the output dir {directory}: {problem}; set {key}=<a folder "
            "you can write> (or paths.log_dir=... for every run)",
            file=sys.stderr,
        )
        sys.exit(2)
