"""What a job leaves in its output dir, and tidying up after a config error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

METRICS_FILE = "metrics.json"
RESOLVED_CONFIG_FILE = "config.yaml"


def write_resolved_config(cfg: DictConfig, output_dir: Path) -> None:
    """The job's config with every interpolation resolved: what actually ran."""
    (output_dir / RESOLVED_CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg, resolve=True))


def write_metrics(metrics: dict[str, Any], output_dir: Path) -> Path:
    path = output_dir / METRICS_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)  # atomic: a summary never reads half a file
    return path


def discard_job_dir(output_dir: Path, sweep_dir: Path | None, job_name: str, log_dir: Path) -> None:
    """Remove only what Hydra wrote for a job that failed its config checks.

    Anything else already in the directory (an earlier run's files) is kept;
    emptied parents are removed up to ``log_dir``, never above it.
    """
    shutil.rmtree(output_dir / ".hydra", ignore_errors=True)
    (output_dir / f"{job_name}.log").unlink(missing_ok=True)
    _rmdir_if_empty(output_dir)
    top = output_dir
    if sweep_dir is not None and sweep_dir != output_dir and sweep_dir.is_dir():
        if [p.name for p in sweep_dir.iterdir()] == ["multirun.yaml"]:
            (sweep_dir / "multirun.yaml").unlink()
        _rmdir_if_empty(sweep_dir)
        top = sweep_dir
    log_dir = log_dir.resolve()
    for parent in top.resolve().parents:
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
