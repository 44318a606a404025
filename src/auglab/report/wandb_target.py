"""Where the sweep's W&B outputs go, read once from the sweep's config: the jobs' W&B
project, entity and group, whether they ran offline, and whether they logged to W&B at all.
The W&B report run and the W&B Report both take this ``Target``."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from auglab.resolvers import WANDB_ID_FILE, wandb_offline


@dataclass(frozen=True)
class Target:
    """The jobs' W&B project and entity (None: the API key's default entity), the group
    their runs share, and whether to stay offline."""

    project: str
    entity: str | None
    group: str
    offline: bool
    logged: bool = True  # False: the jobs had no W&B logger, so no run will match

    def start_sweep_run(self, run_dir: Path, job_type: str, config: dict[str, Any]) -> Any:
        """A W&B run of the sweep itself (``job_type`` report or progress) in ``run_dir``,
        beside the jobs' runs in their group; a rerun of the sweep continues the same run (its
        id kept in ``run_dir``), and it never logs into a job's run."""
        import wandb  # 0.5 s of import, for sweeps whose jobs log to W&B only

        run_dir.mkdir(parents=True, exist_ok=True)
        id_file = run_dir / WANDB_ID_FILE
        if not id_file.is_file():
            id_file.write_text(secrets.token_hex(6) + "\n")  # as the jobs' ids are made
        return wandb.init(
            project=self.project,
            entity=self.entity,
            group=self.group,
            job_type=job_type,
            name=f"{job_type} {self.group}",
            dir=str(run_dir),
            id=id_file.read_text().strip(),
            resume="allow",
            mode="offline" if self.offline else "online",
            config=config,
            reinit="finish_previous",  # never log into a job's run
        )


def wandb_logger_config(config: DictConfig) -> DictConfig | None:
    """The jobs' W&B logger config (``logger.wandb`` or any WandbLogger entry); None without."""
    loggers = OmegaConf.select(config, "logger") or {}
    for entry in loggers.values():
        if isinstance(entry, DictConfig) and str(entry.get("_target_", "")).endswith("WandbLogger"):
            return entry
    return None


def target(config: DictConfig | None, sweep_dir: Path) -> Target:
    """The jobs' W&B settings from the sweep's config (the callback's, or ``multirun.yaml``);
    offline unless the jobs were online (``WANDB_MODE=online``, ``logger.wandb.offline=false``)."""
    settings = wandb_logger_config(config) if config is not None else None
    offline = _setting(settings, "offline", None)
    return Target(
        project=str(_setting(settings, "project", "auglab")),
        entity=_setting(settings, "entity", None),
        group=str(_setting(settings, "group", None) or Path(sweep_dir).name),
        offline=wandb_offline() if offline is None else bool(offline),
        logged=settings is not None or config is None,  # no config: cannot tell
    )


def offline_reason(to: Target) -> str | None:
    """Why nothing goes to W&B's servers (checked without the network); None to publish."""
    if to.offline:
        return "offline: WANDB_MODE is not online"
    if not has_api_key():
        return "no W&B API key: `wandb login`, or set WANDB_API_KEY"
    return None


def has_api_key() -> bool:
    """Whether W&B credentials are configured (environment, .netrc or wandb's settings),
    found without prompting and without the network (``wandb.login(verify=False)``)."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    try:
        import wandb  # 0.5 s: only when a report is to be published

        # A login that is not silent names the user: a server query, which without the
        # network can leave the process hanging at exit. Silent for the login only.
        loud = wandb.setup().settings.silent is False
        wandb.setup(settings=wandb.Settings(silent=True))
        try:
            return bool(wandb.login(prompt=False, verify=False))
        finally:
            if loud:
                wandb.setup(settings=wandb.Settings(silent=False))
    except Exception:  # an unreadable .netrc or settings file: no usable key
        return False


def _setting(settings: DictConfig | None, key: str, default: Any) -> Any:
    """A key of the jobs' logger config, resolved; ``default`` if absent or unresolvable here
    (the group resolver needs a job's Hydra config)."""
    if settings is None:
        return default
    try:
        value = settings.get(key, default)
    except Exception:
        return default
    return default if value is None else value
