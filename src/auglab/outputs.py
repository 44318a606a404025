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


def discard_job_dir(output_dir: Path, sweep_dir: Path | None, job_name: str) -> None:
    """Remove only what Hydra wrote for a job that failed its config checks.

    Anything else already in the directory (an earlier run's files) is kept.
    """
    shutil.rmtree(output_dir / ".hydra", ignore_errors=True)
    (output_dir / f"{job_name}.log").unlink(missing_ok=True)
    _rmdir_if_empty(output_dir)
    if sweep_dir is not None and sweep_dir != output_dir and sweep_dir.is_dir():
        if [p.name for p in sweep_dir.iterdir()] == ["multirun.yaml"]:
            (sweep_dir / "multirun.yaml").unlink()
        _rmdir_if_empty(sweep_dir)


def _rmdir_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass
