"""The train task: build data, model and trainer from the config; fit; test; record.

``python train.py [overrides]`` or ``python -m auglab.train [overrides]``. Every job
leaves one record (``auglab.record``): ``finished``, or ``failed``/``diverged`` with
the stage and a one-line reason. A rerun in the same directory skips a finished job
and continues any other from its last good checkpoint.

Only this light half is imported up front: the training itself (``auglab.job``,
Lightning, torch) is imported when a job trains, so a sweep's parent process, the
sweeper and a skipped job start in a fraction of a second instead of ~3 s.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from auglab.errors import Diverged, one_line
from auglab.outputs import discard_job_dir
from auglab.record import JobRecord, read_record, write_record
from auglab.resolvers import WANDB_ID_FILE, repo_root
from auglab.sweeper import job_number

log = logging.getLogger(__name__)

# conf/hydra/launcher/joblib.yaml sets auglab's defaults over the plugin's schema of the
# same name on purpose (the schema still validates it); Hydra warns about that on every run.
warnings.filterwarnings(
    "ignore", message=r"(?s).*is validated against ConfigStore schema with the same name"
)
# Lightning advertises a cloud logger at every Trainer start.
logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(
    lambda record: not str(record.msg).startswith("💡 Tip")
)


def _optimized(record: JobRecord, cfg: DictConfig) -> float:
    value = record.metric(cfg.get("optimized_metric") or "val/acc_best") if record.ok else None
    return float("nan") if value is None else float(value)


@hydra.main(version_base="1.3", config_path=str(repo_root() / "conf"), config_name="train")
def main(cfg: DictConfig) -> float:
    """Returns ``optimized_metric`` (validation by default) for sweepers; NaN for a failed job."""
    hc = HydraConfig.get()
    output_dir = Path(hc.runtime.output_dir)
    multirun = hc.mode == RunMode.MULTIRUN
    num = job_number(hc) if multirun else None
    name = f"job {num}" if multirun else "run"
    writer = _rank() == 0  # DDP's other processes re-run this job: they only train

    previous = read_record(output_dir) if writer else None
    if previous is not None and previous.ok:
        log.info(
            "%s: finished, skipping (delete %s or pick another dir to train again)",
            name,
            output_dir,
        )
        return _optimized(previous, cfg)
    record = JobRecord(
        status="running",
        overrides=list(hc.overrides.task),
        job_num=num,
        seed=cfg.get("seed"),
        stage="config",
        attempts=previous.attempts + 1 if previous else 1,
    )
    if writer and multirun:
        write_record(record, output_dir)  # a job killed from here on is known to have started
    try:
        from auglab.isolation import isolated_job
        from auglab.job import build, peek_start, relative, run, starting_point

        job = build(cfg, record, name)
        record.stage = "fit"
        start = starting_point(output_dir, name, previous) if writer else peek_start(output_dir)
        record.resumed_from = (
            None
            if start is None
            else f"epoch {start.epoch + 1} ({relative(str(start.path), output_dir)})"
        )
        if writer:
            write_record(record, output_dir)
        with isolated_job():
            run(cfg, job, output_dir, record, start)
        _exit.allowed = multirun or job.trainer.world_size == 1
    except Exception as err:
        if not writer:
            raise
        return _failed(err, record, cfg, output_dir, previous, multirun)
    if writer:
        write_record(record, output_dir)
        best = "none" if record.val_acc_best is None else f"{record.val_acc_best:.4f}"
        log.info("%s: finished: test acc %.4f, best val acc %s", name, record.test_acc, best)
    return _optimized(record, cfg)


@dataclass
class _QuickExit:
    """Whether the process may end without Python's own teardown (see ``cli``)."""

    allowed: bool = True


_exit = _QuickExit()


def cli() -> None:
    """``python train.py`` and ``auglab-train``: the Hydra task, then a quick exit.

    With torch and Lightning loaded, Python's own teardown takes about 1.3 s
    (``bench/startup.py``). Once the task has returned (or exited with a status), its
    files are written: the W&B run is finished here, every log is flushed, and the
    process ends at once. Two cases end the usual way: a multi-process DDP run, so its
    other processes are never cut short, and a sweep whose joblib workers are still
    alive, which Python's exit shuts down cleanly (they hold the output streams).
    """
    try:
        main()
        status: int | str | None = 0
    except SystemExit as stop:
        status = stop.code
    if not _exit.allowed or _joblib_workers_alive():
        sys.exit(status)
    wandb = sys.modules.get("wandb")
    if wandb is not None:
        if wandb.run is not None:
            wandb.finish()
        wandb.teardown()  # waits for the W&B service to write the offline runs
    if isinstance(status, str):  # what sys.exit("message") prints
        print(status, file=sys.stderr)
        status = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status or 0)


def _joblib_workers_alive() -> bool:
    executors = sys.modules.get("joblib.externals.loky.reusable_executor")
    return getattr(executors, "_executor", None) is not None


def _failed(
    err: BaseException,
    record: JobRecord,
    cfg: DictConfig,
    output_dir: Path,
    previous: JobRecord | None,
    multirun: bool,
) -> float:
    """Record the failure; a sweep goes on to its next job, a single run exits with one line."""
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        log.exception("Full traceback (HYDRA_FULL_ERROR=1)")
    record.status = "diverged" if isinstance(err, Diverged) else "failed"
    record.error = one_line(err)
    before_training = record.stage in ("config", "data")
    if multirun:
        write_record(record, output_dir)
        log.error("%s", record.failure_line())
        return float("nan")
    if before_training and previous is None:
        # Nothing was trained: leave no trace of the attempt (the user fixes a typo and reruns).
        hc = HydraConfig.get()
        try:
            log_dir = Path(cfg.paths.log_dir)
        except OmegaConfBaseException:  # the paths config itself is what is broken
            log_dir = output_dir.parent
        (output_dir / WANDB_ID_FILE).unlink(missing_ok=True)
        discard_job_dir(output_dir, hc.job.name, log_dir)
    else:
        write_record(record, output_dir)
    raise SystemExit(f"auglab: error: {record.error}")


def _rank() -> int:
    """This process's global rank, read from the environment as Lightning's
    ``rank_zero_only`` reads it (without importing Lightning)."""
    for key in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        if os.environ.get(key) is not None:
            return int(os.environ[key])
    return 0


if __name__ == "__main__":
    cli()
