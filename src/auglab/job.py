"""The train task: build data, model and trainer from the config; fit; test; return the outcome.

Read it as lightning-hydra-template's ``train``: nothing here knows of job dirs, locks,
records or sweeps; ``auglab.guard`` owns what surrounds a job and makes the record
from the ``Outcome`` this returns, in one place. Importing this module loads Lightning,
torch and the data and model code (~3 s), which the entry defers until a job trains.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from lightning.pytorch.callbacks import LearningRateMonitor, ProgressBar
from omegaconf import DictConfig, OmegaConf

from auglab.aug import build_augmentation, preset_name
from auglab.callbacks import DivergenceGuard, EpochLogLine, RngCheckpoint, StopCheck, TrainTimer
from auglab.checkpoints import AtomicCheckpointIO, ResumePoint, read_checkpoints
from auglab.checks import check_int
from auglab.console import quiet_console
from auglab.data import ImageDataModule
from auglab.errors import ConfigError
from auglab.machine import check_loader_workers, parallel_jobs, set_threads
from auglab.outputs import write_resolved_config
from auglab.record import CLASS_ACC_METRIC, METRIC_NAMES, ShiftResults
from auglab.regularisation import model_overrides, net_overrides, regularisation
from auglab.scoring import shift_at_end
from auglab.shift.shifted_sets import SuiteSpec
from auglab.slurm import cluster_plugins
from auglab.spawn import prepare_spawn, spawned
from auglab.speedups import keep_freed_memory, skip_cuda_probe_without_gpu

log = logging.getLogger("auglab.train")  # the same logger name as the entry: one log stream

# Lightning 2.6 on torch 2.14 warns about its own pytree use on every run; nothing for users to act on.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")


@dataclass
class TaskHooks:
    """What the job dir's guard (``auglab.guard``) hands the task: where it runs and how
    to report progress.

    ``stage(name)`` is called as the task enters data, config and test;
    ``fit_from(threads)`` as it starts to fit: it returns the checkpoint to resume from
    (None: from scratch); ``stop()`` names why the job must stop now, or None.
    """

    name: str
    output_dir: Path
    stage: Callable[[str], None]
    fit_from: Callable[[int], ResumePoint | None]
    stop: Callable[[], str | None]
    world_size: int = 1  # set by the task once the trainer exists


@dataclass(frozen=True)
class Outcome:
    """What a finished job measured; field names are ``JobRecord``'s."""

    test_acc: float
    test_loss: float
    test_class_acc: list[float | None] | None
    class_names: list[str] | None
    val_acc_best: float | None
    train_size: int
    subset_seed: int | None
    synthetic_size: int | None
    samples_per_epoch: int | None
    aug: str
    aug_strength: float
    reg: str
    reg_strength: float
    val_size: int
    epochs: int
    optimizer_steps: int
    train_images_seen: int
    fit_seconds: float
    train_images_per_second: float
    tested_checkpoint: str
    best_checkpoint: str | None
    last_checkpoint: str | None
    shift: ShiftResults | None = None  # with shift=mnist_c: the corruption suite (auglab.scoring)


@dataclass
class Job:
    datamodule: ImageDataModule
    model: L.LightningModule
    trainer: L.Trainer
    timer: TrainTimer
    threads: int


def train(cfg: DictConfig, hooks: TaskHooks) -> Outcome:
    """Build, fit (resuming where ``hooks.fit_from`` says), test the best checkpoint."""
    job = build(cfg, hooks)
    hooks.world_size = job.trainer.world_size
    start = hooks.fit_from(job.threads)
    return fit_and_test(cfg, job, hooks.output_dir, start, hooks.stage)


def build(cfg: DictConfig, hooks: TaskHooks) -> Job:
    """Everything that can fail because of the config or the data, before any training."""
    quiet_console()  # Lightning is loaded (above): one line per event from here on
    skip_cuda_probe_without_gpu()
    keep_freed_memory()
    hc = HydraConfig.get() if HydraConfig.initialized() else None
    threads = set_threads(cfg.get("threads"), hc)
    _check_config(cfg)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule, model = build_data_and_model(cfg, hooks.stage)
    crowded = check_loader_workers(datamodule.num_workers, threads)
    if crowded is not None:
        log.warning("%s: %s", hooks.name, crowded)
    model.configure_optimizers()  # a bad optimiser or scheduler setting fails here, not in fit
    timer = TrainTimer()
    # `callbacks.pictures=null` switches one entry off; divergence and RNG checkpointing stay.
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]
    callbacks += [timer, DivergenceGuard(), RngCheckpoint(), StopCheck(hooks.stop)]
    progress = {}
    if parallel_jobs(hc) > 1:  # jobs side by side: a log line per epoch, not garbled bars
        callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)]
        callbacks.append(EpochLogLine(hooks.name))
        progress = {"enable_progress_bar": False}
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if c is not None]
    if not loggers:  # Lightning refuses a learning-rate monitor with nothing to log to
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    trainer = instantiate(
        cfg.trainer,
        callbacks=callbacks,
        logger=loggers or False,
        plugins=[AtomicCheckpointIO(), *cluster_plugins()],
        **progress,
    )
    prepare_spawn(trainer, hc)
    return Job(datamodule, model, trainer, timer, threads)


def build_data_and_model(
    cfg: DictConfig, stage: Callable[[str], None] = lambda name: None
) -> tuple[ImageDataModule, L.LightningModule]:
    """The loaded datamodule and the model, from the config alone: what a job trains, and
    what ``auglab.evaluate`` rebuilds to test a job's checkpoint again."""
    datamodule: ImageDataModule = instantiate(cfg.data, augment=build_augmentation(cfg.aug))
    stage("data")
    datamodule.load()
    stage("config")
    # Shapes flow from the data to the network: no model yaml names a class count.
    reg = regularisation(cfg.get("reg"))
    net = instantiate(
        cfg.model.net,
        num_classes=datamodule.num_classes,
        input_shape=datamodule.input_shape,
        **net_overrides(reg, cfg.model.net),
    )
    model = instantiate(cfg.model, net=net, **model_overrides(reg))
    if datamodule.channel_stats is not None:  # data.normalize of image_folder
        model.set_input_normalization(*datamodule.channel_stats)
    return datamodule, model


def fit_and_test(
    cfg: DictConfig,
    job: Job,
    output_dir: Path,
    start: ResumePoint | None,
    stage: Callable[[str], None],
) -> Outcome:
    """Fit from ``start``, test the best checkpoint (and the suite, with ``shift``): the
    job's ``Outcome``."""
    trainer, model, datamodule = job.trainer, job.model, job.datamodule
    fit_seconds = fit(cfg, job, output_dir, start)
    stage("test")
    best, last = saved_checkpoints(trainer)  # before test() restores callback state
    images, images_per_second = job.timer.images, job.timer.images_per_second  # test() restores
    tested_ckpt = _checkpoint_to_test(best, datamodule)  # callback states from the tested file
    (tested,) = trainer.test(
        model, datamodule=datamodule, ckpt_path=tested_ckpt, weights_only=False
    )

    epochs, steps = trainer.current_epoch, trainer.global_step
    newest = peek_start(output_dir) if spawned(trainer) else None
    if newest is not None:  # the processes that trained were spawned: ask their checkpoint
        last = str(newest.path)
        epochs, steps, images, images_per_second = _counts_in(newest, job.timer)
    per_class = [tested.get(CLASS_ACC_METRIC.format(c)) for c in range(datamodule.num_classes)]
    tested_name = relative(tested_ckpt, output_dir) or "final weights"
    shift = None
    reg = regularisation(cfg.get("reg"))
    if cfg.get("shift") is not None and trainer.is_global_zero:  # shift=mnist_c: the suite too
        name = f"job {output_dir.name}" if output_dir.name.isdigit() else "run"
        shift = shift_at_end(cfg, trainer, model, datamodule, tested_name, name)
    return Outcome(
        test_acc=tested["test/acc"],
        test_loss=tested["test/loss"],
        test_class_acc=per_class if any(v is not None for v in per_class) else None,
        class_names=[str(name) for name in datamodule.class_names] or None,
        val_acc_best=_best_val_acc(model),
        train_size=datamodule.train_size,
        subset_seed=datamodule.subset_seed,
        synthetic_size=datamodule.synthetic_size,
        samples_per_epoch=datamodule.samples_per_epoch,
        aug=preset_name(cfg.aug),
        aug_strength=cfg.aug.get("strength", 1.0),
        reg=reg.name,
        reg_strength=reg.strength,
        val_size=datamodule.val_size,
        epochs=epochs,
        optimizer_steps=steps,
        train_images_seen=images,
        fit_seconds=round(fit_seconds, 3),
        train_images_per_second=round(images_per_second, 1),
        tested_checkpoint=tested_name,
        best_checkpoint=relative(best, output_dir),
        last_checkpoint=relative(last, output_dir),
        shift=shift,
    )


def fit(cfg: DictConfig, job: Job, output_dir: Path, start: ResumePoint | None) -> float:
    """Write the resolved config, log the hyperparameters, fit: the seconds fitting took."""
    if job.trainer.is_global_zero:
        write_resolved_config(cfg, output_dir)
    for logger in job.trainer.loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    started = time.perf_counter()
    job.trainer.fit(
        job.model,
        datamodule=job.datamodule,
        ckpt_path=str(start.path) if start else None,
        weights_only=False,  # our own checkpoints: they carry the RNG states
    )
    return time.perf_counter() - started


def saved_checkpoints(trainer: L.Trainer) -> tuple[str | None, str | None]:
    """(best, last) checkpoint paths: the monitored callback keeps the best epoch, the
    unmonitored one the latest (callbacks/default.yaml)."""
    best = last = None
    for ckpt in trainer.checkpoint_callbacks:
        path = getattr(ckpt, "best_model_path", None) or None
        if getattr(ckpt, "monitor", None) is None:
            last = last or path
        else:
            best = best or path
    return best, last


def _counts_in(checkpoint: ResumePoint, timer: TrainTimer) -> tuple[int, int, int, float]:
    """(epochs, optimizer steps, images seen, images/s) as spawned processes saved them."""
    state = torch.load(checkpoint.path, map_location="cpu", weights_only=False)
    timer.load_state_dict(state["callbacks"][timer.state_key])
    return state["epoch"] + 1, state["global_step"], timer.images, timer.images_per_second


def _check_config(cfg: DictConfig) -> None:
    if cfg.get("shift") is not None:  # a typo in the suite fails now, not after training
        SuiteSpec.from_config(cfg.shift)
    metric = cfg.get("optimized_metric")
    if metric not in METRIC_NAMES:
        raise ConfigError(
            f"optimized_metric={metric!r} is not recorded: use one of {', '.join(METRIC_NAMES)} "
            "(val/acc_best lets a sweeper choose without looking at the test set)"
        )
    epochs = cfg.trainer.get("max_epochs")
    if epochs != -1:  # -1: no epoch limit (Lightning's way to train for trainer.max_steps)
        check_int(
            epochs,
            "trainer.max_epochs",
            1,
            allow_none=True,
            hint="E1 uses 30; -1 with trainer.max_steps trains by steps",
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


def peek_start(output_dir: Path) -> ResumePoint | None:
    return read_checkpoints(output_dir / "checkpoints").start


def relative(path: str | None, root: Path) -> str | None:
    if not path:
        return None
    with contextlib.suppress(ValueError):
        return str(Path(path).resolve().relative_to(root.resolve()))
    return path
