"""``python -m auglab.report DIR``: rebuild a sweep's summary and report by hand, for a
sweep that is still running, was stopped, or ended before its callback could write them;
``--wandb-report`` also makes the sweep's W&B Report (``auglab.report.wandb_report``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from auglab.errors import ConfigError
from auglab.record import RECORD_FILE
from auglab.report.build import make_report
from auglab.report.wandb_target import target

#: Hydra's record of the sweep's config, where the end-of-sweep callback's ``select`` is.
SWEEP_CONFIG = "multirun.yaml"


def configured_select(sweep_dir: Path) -> str | None:
    """The ``select`` the sweep's end-of-sweep callback was configured with, if any."""
    cfg = sweep_config(sweep_dir)
    if cfg is None:
        return None
    return OmegaConf.select(cfg, "hydra.callbacks.sweep_summary.select", default=None)


def sweep_config(sweep_dir: Path) -> DictConfig | None:
    """The sweep's config as Hydra recorded it (``multirun.yaml``); None without one."""
    path = Path(sweep_dir) / SWEEP_CONFIG
    if not path.is_file():
        return None
    cfg = OmegaConf.load(path)
    return cfg if isinstance(cfg, DictConfig) else None


def main(argv: Sequence[str] | None = None) -> int:

    parser = argparse.ArgumentParser(
        prog="python -m auglab.report",
        description="Rebuild summary.csv/.md, report.md and report.png of a (possibly unfinished) sweep.",
    )
    parser.add_argument("sweep_dir", type=Path, help="e.g. logs/multiruns/2025-01-01_12-00-00")
    parser.add_argument(
        "--select",
        metavar="METRIC",
        default=None,
        help="tune every other swept key (optim.lr...) per setting, size and seed on this "
        "validation metric (val/acc_best) before comparing; default: as the sweep was "
        "configured (hydra.callbacks.sweep_summary.select); 'none': no tuning",
    )
    parser.add_argument(
        "--wandb-report",
        action="store_true",
        help="also build the sweep's W&B Report (panels over its runs, by W&B group, and the "
        "report's tables): saved and its URL printed when online (WANDB_MODE=online and an "
        "API key), else written to DIR/wandb_report.json and DIR/wandb_report.md",
    )
    parser.add_argument(
        "--whole-plan",
        action="store_true",
        help="report every job ever planned into DIR (plan.json: a study run as several "
        "sweeps, each with its own grid), not only the latest sweep's grid",
    )
    args = parser.parse_args(argv)
    try:
        sweep_dir = _check_sweep_dir(args.sweep_dir)
        select = configured_select(sweep_dir) if args.select is None else args.select
        report = make_report(sweep_dir, select=select, whole_plan=args.whole_plan)
        if report is None:
            raise ConfigError(
                f"no job record in {args.sweep_dir} (no */{RECORD_FILE}): wait for a job to start, or pass the sweep dir itself"
            )
    except ConfigError as err:
        print(f"auglab: error: {err}", file=sys.stderr)
        return 2
    print(report.text)
    if args.wandb_report:
        try:
            # wandb-workspaces and wandb: an optional extra, 0.45 s of import (python -X
            # importtime) that only --wandb-report needs
            from auglab.report.wandb_report import publish
        except ImportError as err:
            print(
                f"auglab: error: --wandb-report needs wandb-workspaces ({err}): "
                "pip install wandb-workspaces",
                file=sys.stderr,
            )
            return 2
        publish(report, sweep_dir, target(sweep_config(sweep_dir), sweep_dir))
    return 0


def _check_sweep_dir(path: Path) -> Path:
    if not path.is_dir():
        raise ConfigError(
            f"sweep dir {path} does not exist: pass a folder of logs/multiruns/ (or your hydra.sweep.dir)"
        )
    return path
