"""OmegaConf resolvers used by `conf/`: repository-relative paths, run naming, required keys."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf

from auglab.errors import ConfigError
from auglab.machine import default_parallel_jobs


def repo_root() -> Path:
    """The checkout holding `conf/`, so relative data paths do not depend on cwd."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "conf").is_dir() else Path.cwd()


def resolve_path(path: str) -> str:
    """Absolute path; a relative one is taken from the repository root."""
    p = Path(os.path.expanduser(str(path)))
    return str(p if p.is_absolute() else (repo_root() / p).resolve())


def run_name() -> str:
    """W&B run name: the job's overrides (``aug=on,data.size=100``), or ``default``."""
    hc = _hydra_config()
    name = hc.job.override_dirname if hc is not None else ""
    return name or "default"


def sweep_group() -> str | None:
    """W&B group: the sweep directory's name in a multirun, none for a single run."""
    hc = _hydra_config()
    if hc is None or hc.mode != RunMode.MULTIRUN:
        return None
    return Path(hc.sweep.dir).name


def wandb_offline() -> bool:
    """Offline unless the user explicitly asked for ``WANDB_MODE=online``."""
    return os.environ.get("WANDB_MODE", "offline").lower() != "online"


#: The W&B run id of a job, kept in its directory: a resumed job continues the same run.
WANDB_ID_FILE = "wandb_id.txt"


def wandb_run_id() -> str | None:
    """This job's W&B run id, made once (from the OS, not the seeded RNG) and reused."""
    hc = _hydra_config()
    if hc is None:
        return None
    path = Path(hc.runtime.output_dir) / WANDB_ID_FILE
    if path.is_file():
        return path.read_text().strip()
    run_id = secrets.token_hex(6)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(run_id + "\n")
    return run_id


def required(key: str, example: str) -> None:
    """A value an experiment cannot run without (``???`` is lost when merged over a default)."""
    raise ConfigError(f"{key} is required by this experiment: add {key}={example}")


def _hydra_config() -> Any:
    return HydraConfig.get() if HydraConfig.initialized() else None


def unique() -> str:
    """Six random hex digits that tell apart runs and sweeps started in the same second, on
    one machine or many. Cached like Hydra's ``now``: a sweep's jobs resolve the same."""
    return secrets.token_hex(3)


def register_resolvers() -> None:
    resolvers = {
        "auglab.root": lambda: str(repo_root()),
        "auglab.path": resolve_path,
        "auglab.run_name": run_name,
        "auglab.sweep_group": sweep_group,
        "auglab.wandb_offline": wandb_offline,
        "auglab.wandb_run_id": wandb_run_id,
        "auglab.parallel_jobs": default_parallel_jobs,
        "auglab.required": required,
    }
    for name, fn in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)
    if not OmegaConf.has_resolver("auglab.unique"):
        OmegaConf.register_new_resolver("auglab.unique", unique, use_cache=True)
