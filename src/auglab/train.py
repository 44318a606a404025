"""The train task: build data, model and trainer from the config; fit; test; record.

``python train.py [overrides]`` or ``python -m auglab.train [overrides]``.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from auglab.aug import build_augmentation
from auglab.callbacks import TrainTimer
from auglab.data import ImageDataModule
from auglab.errors import ConfigError
from auglab.isolation import isolated_job
from auglab.outputs import discard_job_dir, write_metrics, write_resolved_config
from auglab.resolvers import repo_root
from auglab.runtime import skip_cuda_probe_without_gpu

log = logging.getLogger(__name__)

# Lightning 2.6 on torch 2.14 warns about its own pytree use on every run; nothing for users to act on.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
# ...and advertises a cloud logger at every Trainer start.
logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(
    lambda record: not str(record.msg).startswith("💡 Tip")
)


@dataclass
class Job:
    datamodule: ImageDataModule
    model: L.LightningModule
    trainer: L.Trainer
    timer: TrainTimer


def build(cfg: DictConfig) -> Job:
    """Everything that can fail because of the config or the data, before any training."""
    skip_cuda_probe_without_gpu()
    L.seed_everything(cfg.seed, workers=True)
    datamodule: ImageDataModule = instantiate(cfg.data, augment=build_augmentation(cfg.aug))
    datamodule.prepare_data()
    datamodule.setup("fit")
    # Shapes flow from the data to the network: no model yaml names a class count.
    net = instantiate(
        cfg.model.net, num_classes=datamodule.num_classes, input_shape=datamodule.input_shape
    )
    model = instantiate(cfg.model, net=net)
    timer = TrainTimer()
    # `callbacks.pictures=null` switches one entry off.
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if c is not None]
    trainer = instantiate(cfg.trainer, callbacks=[*callbacks, timer], logger=loggers or False)
    return Job(datamodule, model, trainer, timer)


def run(cfg: DictConfig, job: Job, output_dir: Path) -> dict[str, Any]:
    """Fit, test the best checkpoint, and write ``metrics.json``."""
    trainer, model, datamodule = job.trainer, job.model, job.datamodule
    if trainer.is_global_zero:
        write_resolved_config(cfg, output_dir)
    for logger in trainer.loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    started = time.perf_counter()
    trainer.fit(model, datamodule=datamodule)
    fit_seconds = time.perf_counter() - started

    ckpt = trainer.checkpoint_callback
    best = ckpt.best_model_path if ckpt is not None and ckpt.best_model_path else None
    last = getattr(ckpt, "last_model_path", None)  # read before test() restores callback state
    tested_ckpt = _checkpoint_to_test(best, datamodule)
    (tested,) = trainer.test(
        model, datamodule=datamodule, ckpt_path=tested_ckpt, weights_only=False
    )

    hc = HydraConfig.get()
    metrics = {
        "test/acc": tested["test/acc"],
        "test/loss": tested["test/loss"],
        "val/acc_best": float(model.val_acc_best.compute())
        if model.val_acc_best.update_called
        else None,
        "epochs": trainer.current_epoch,
        "optimizer_steps": trainer.global_step,
        "train_size": datamodule.source_size,
        "data_size": cfg.data.get("size"),
        "synthetic_size": datamodule.synthetic_size,
        "samples_per_epoch": datamodule.samples_per_epoch,
        "aug": cfg.aug.get("name"),
        "aug_strength": cfg.aug.get("strength", 1.0),
        "train_images_seen": job.timer.images,
        "fit_seconds": round(fit_seconds, 3),
        "train_images_per_second": round(job.timer.images_per_second, 1),
        "seed": cfg.seed,
        "overrides": list(hc.overrides.task),
        "job_num": hc.job.num if hc.mode == RunMode.MULTIRUN else None,
        "tested_checkpoint": _relative(tested_ckpt, output_dir) or "final weights",
        "best_checkpoint": _relative(best, output_dir),
        "last_checkpoint": _relative(last, output_dir),
    }
    if trainer.is_global_zero:
        write_metrics(metrics, output_dir)
    return metrics


def _checkpoint_to_test(best: str | None, datamodule: ImageDataModule) -> str | None:
    """The best checkpoint by validation accuracy; None (the final weights) when there is none
    or when the "best" epoch was picked on the test set itself."""
    if datamodule.val_from_test:
        log.info("data.val_from_test=true: testing the final weights, not the best epoch")
        return None
    if best is None:
        log.warning("No best checkpoint was saved: testing the weights at the end of training")
    return best


def one_line(err: BaseException) -> str:
    """The ConfigError behind ``err`` if any (OmegaConf and Hydra wrap them), else its root cause."""
    root = _config_error(err) or _root_cause(err)
    return " ".join(str(root).split()) or type(root).__name__


def _config_error(err: BaseException | None) -> ConfigError | None:
    # OmegaConf raises its own error "from None": the ConfigError is only in __context__.
    while err is not None and not isinstance(err, ConfigError):
        err = err.__cause__ or err.__context__
    return err


def _root_cause(err: BaseException) -> BaseException:
    while err.__cause__ is not None:
        err = err.__cause__
    return err


@hydra.main(version_base="1.3", config_path=str(repo_root() / "conf"), config_name="train")
def main(cfg: DictConfig) -> float | None:
    hc = HydraConfig.get()
    output_dir = Path(hc.runtime.output_dir)
    try:
        job = build(cfg)
    except (ConfigError, InstantiationException, OmegaConfBaseException) as err:
        sweep_dir = Path(hc.sweep.dir) if hc.mode == RunMode.MULTIRUN else None
        try:
            log_dir = Path(cfg.paths.log_dir)
        except OmegaConfBaseException:  # the paths config itself is what is broken
            log_dir = output_dir.parent
        discard_job_dir(output_dir, sweep_dir, hc.job.name, log_dir)
        raise SystemExit(f"auglab: error: {one_line(err)}") from None
    with isolated_job():
        metrics = run(cfg, job, output_dir)
    return metrics["test/acc"]


def _relative(path: str | None, root: Path) -> str | None:
    if not path:
        return None
    with contextlib.suppress(ValueError):
        return str(Path(path).resolve().relative_to(root.resolve()))
    return path


if __name__ == "__main__":
    main()
