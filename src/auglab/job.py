"""One training job: build data, model and trainer from the config; fit; test; fill the record.

The heavy half of ``auglab.train``: importing it loads Lightning, torch and the data
and model code (~3 s), which ``auglab.train`` defers until a job really trains, so
a sweep's parent process and a finished job being skipped never pay it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from lightning.pytorch.callbacks import LearningRateMonitor, ProgressBar
from lightning.pytorch.loggers import WandbLogger
from omegaconf import DictConfig, OmegaConf

from auglab.aug import build_augmentation, preset_name
from auglab.callbacks import DivergenceGuard, EpochLogLine, RngCheckpoint, TrainTimer
from auglab.checkpoints import AtomicCheckpointIO, ResumePoint, read_checkpoints
from auglab.data import ImageDataModule
from auglab.errors import ConfigError
from auglab.outputs import write_resolved_config
from auglab.record import CLASS_ACC_METRIC, METRIC_NAMES, JobRecord
from auglab.runtime import (
    keep_freed_memory,
    parallel_jobs,
    prepare_spawn,
    set_threads,
    skip_cuda_probe_without_gpu,
    spawned,
)

log = logging.getLogger("auglab.train")  # the same logger name as the entry: one log stream

# Lightning 2.6 on torch 2.14 warns about its own pytree use on every run; nothing for users to act on.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")


@dataclass
class Job:
    datamodule: ImageDataModule
    model: L.LightningModule
    trainer: L.Trainer
    timer: TrainTimer


def build(cfg: DictConfig, record: JobRecord, name: str = "run") -> Job:
    """Everything that can fail because of the config or the data, before any training."""
    skip_cuda_probe_without_gpu()
    keep_freed_memory()
    hc = HydraConfig.get() if HydraConfig.initialized() else None
    record.threads = set_threads(cfg.get("threads"), hc)
    _check_config(cfg)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule: ImageDataModule = instantiate(cfg.data, augment=build_augmentation(cfg.aug))
    record.stage = "data"
    datamodule.load()
    record.stage = "config"
    # Shapes flow from the data to the network: no model yaml names a class count.
    net = instantiate(
        cfg.model.net, num_classes=datamodule.num_classes, input_shape=datamodule.input_shape
    )
    model = instantiate(cfg.model, net=net)
    model.configure_optimizers()  # a bad optimiser or scheduler setting fails here, not in fit
    timer = TrainTimer()
    # `callbacks.pictures=null` switches one entry off; divergence and RNG checkpointing stay.
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]
    callbacks += [timer, DivergenceGuard(), RngCheckpoint()]
    progress = {}
    if parallel_jobs(hc) > 1:  # jobs side by side: a log line per epoch, not garbled bars
        callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)] + [EpochLogLine(name)]
        progress = {"enable_progress_bar": False}
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if c is not None]
    if not loggers:  # Lightning refuses a learning-rate monitor with nothing to log to
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    trainer = instantiate(
        cfg.trainer,
        callbacks=callbacks,
        logger=loggers or False,
        plugins=[AtomicCheckpointIO()],
        **progress,
    )
    prepare_spawn(trainer, hc)
    return Job(datamodule, model, trainer, timer)


def run(
    cfg: DictConfig, job: Job, output_dir: Path, record: JobRecord, start: ResumePoint | None
) -> None:
    """Fit (from ``start`` when resuming), test the best checkpoint, fill in ``record``."""
    trainer, model, datamodule = job.trainer, job.model, job.datamodule
    if trainer.is_global_zero:
        write_resolved_config(cfg, output_dir)
    for logger in trainer.loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    started = time.perf_counter()
    trainer.fit(
        model,
        datamodule=datamodule,
        ckpt_path=str(start.path) if start else None,
        weights_only=False,  # our own checkpoints: they carry the RNG states
    )
    fit_seconds = time.perf_counter() - started

    record.stage = "test"
    # Read before test() restores callback state. The monitored callback keeps the best
    # epoch; the unmonitored one keeps the latest (callbacks/default.yaml).
    best = last = None
    for ckpt in trainer.checkpoint_callbacks:
        path = getattr(ckpt, "best_model_path", None) or None
        if getattr(ckpt, "monitor", None) is None:
            last = last or path
        else:
            best = best or path
    images, images_per_second = job.timer.images, job.timer.images_per_second  # test() restores
    tested_ckpt = _checkpoint_to_test(best, datamodule)  # callback states from the tested file
    (tested,) = trainer.test(
        model, datamodule=datamodule, ckpt_path=tested_ckpt, weights_only=False
    )

    epochs, steps = trainer.current_epoch, trainer.global_step
    newest = peek_start(output_dir) if spawned(trainer) else None
    if newest is not None:  # the processes that trained were spawned: ask their checkpoint
        last = str(newest.path)
        state = torch.load(newest.path, map_location="cpu", weights_only=False)
        epochs, steps = state["epoch"] + 1, state["global_step"]
        job.timer.load_state_dict(state["callbacks"][job.timer.state_key])
        images, images_per_second = job.timer.images, job.timer.images_per_second
    record.status, record.stage, record.error = "finished", None, None
    record.test_acc, record.test_loss = tested["test/acc"], tested["test/loss"]
    per_class = [tested.get(CLASS_ACC_METRIC.format(c)) for c in range(datamodule.num_classes)]
    record.test_class_acc = per_class if any(v is not None for v in per_class) else None
    record.class_names = [str(name) for name in datamodule.class_names] or None
    record.val_acc_best = _best_val_acc(model)
    record.epochs = epochs
    record.optimizer_steps = steps
    record.train_size = datamodule.train_size
    record.synthetic_size = datamodule.synthetic_size
    record.samples_per_epoch = datamodule.samples_per_epoch
    record.aug = preset_name(cfg.aug)
    record.aug_strength = cfg.aug.get("strength", 1.0)
    record.train_images_seen = images
    record.fit_seconds = round(fit_seconds, 3)
    record.train_images_per_second = round(images_per_second, 1)
    record.tested_checkpoint = relative(tested_ckpt, output_dir) or "final weights"
    record.best_checkpoint = relative(best, output_dir)
    record.last_checkpoint = relative(last, output_dir)
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger) and trainer.is_global_zero:
            logger.experiment.finish()  # complete on disk when the job is, not at process exit


def _check_config(cfg: DictConfig) -> None:
    metric = cfg.get("optimized_metric")
    if metric not in METRIC_NAMES:
        raise ConfigError(
            f"optimized_metric={metric!r} is not recorded: use one of {', '.join(METRIC_NAMES)} "
            "(val/acc_best lets a sweeper choose without looking at the test set)"
        )
    epochs = cfg.trainer.get("max_epochs")
    if epochs is not None and (
        isinstance(epochs, bool) or not isinstance(epochs, int) or epochs == 0 or epochs < -1
    ):
        raise ConfigError(
            f"trainer.max_epochs={epochs!r} trains nothing: use a whole number >= 1 (E1 uses 30), "
            "or -1 with trainer.max_steps"
        )


def _best_val_acc(model: L.LightningModule) -> float | None:
    best = getattr(model, "val_acc_best", None)
    if best is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # computed before any update: -inf, reported as None
        value = float(best.compute())
    return value if math.isfinite(value) else None


def _checkpoint_to_test(best: str | None, datamodule: ImageDataModule) -> str | None:
    """The best checkpoint by validation accuracy; None (the final weights) when there is none
    or when the "best" epoch was picked on the test set itself."""
    if datamodule.val_from_test:
        log.info("data.val_from_test=true: testing the final weights, not the best epoch")
        return None
    if best is None:
        log.warning("No best checkpoint was saved: testing the weights at the end of training")
    return best


def starting_point(output_dir: Path, name: str, previous: JobRecord | None) -> ResumePoint | None:
    """Where this attempt starts, said in one log line: a checkpoint, or scratch."""
    found = read_checkpoints(output_dir / "checkpoints")
    found.set_aside_damaged()
    damaged = "; ".join(f"{p.name} is damaged (truncated or unreadable)" for p in found.damaged)
    if found.start is not None:
        where = relative(str(found.start.path), output_dir)
        log.info(
            "%s: %sresuming from epoch %d (%s)",
            name,
            f"{damaged}: " if damaged else "",
            found.start.epoch + 1,
            where,
        )
    elif damaged:
        log.warning("%s: %s: starting from scratch", name, damaged)
    elif previous is not None:
        log.info("%s: %s last time, no checkpoint: starting from scratch", name, previous.status)
    else:
        log.info("%s: starting", name)
    return found.start


def peek_start(output_dir: Path) -> ResumePoint | None:
    return read_checkpoints(output_dir / "checkpoints").start


def relative(path: str | None, root: Path) -> str | None:
    if not path:
        return None
    with contextlib.suppress(ValueError):
        return str(Path(path).resolve().relative_to(root.resolve()))
    return path
