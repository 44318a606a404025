"""Test a trained network again, through the job's own test loop: its clean test set, the
corruption suite (``auglab.shift``) and other datasets' test sets of the same shape.

Why the job's loop: ``trainer.test`` with the job's trainer settings and datamodule gives
the recorded ``test_acc`` bit for bit, so any difference on a shifted set is the shift's
alone. Each other test set is swapped in as the datamodule's test split
(``ImageDataModule.replace_test_set``): same batches, device and conversion. The trainer
here has no loggers, checkpoints or pictures, so nothing of the job's is rewritten.

Used at the end of a job that asks for it (``shift=mnist_c``, ``auglab.job``) and by
``python -m auglab.evaluate`` for jobs already trained.
"""

from __future__ import annotations

import copy
import logging
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from auglab.callbacks import StopCheck
from auglab.data.dataset import ArrayDataset
from auglab.errors import ConfigError, one_line
from auglab.process import Interrupted
from auglab.record import OtherTest, ShiftResults
from auglab.resolvers import repo_root
from auglab.shift.shifted_sets import ShiftedSets, SuiteSpec, overall_source
from auglab.stats import complete_mean

if TYPE_CHECKING:
    from auglab.data import ImageDataModule

log = logging.getLogger("auglab.train")

#: Trainer keys that spread a job over devices or nodes: a test pass runs on one device.
_SPREAD = ("strategy", "devices", "num_nodes", "sync_batchnorm", "plugins")
#: The corrupted test sets of ``shift_at_end``, kept for the next job this process runs
#: (a joblib worker runs many of a sweep's jobs): a sweep corrupts its test set once per
#: worker, not once per job (~10 s of a 15 s suite on MNIST).
_AT_END = ShiftedSets(keep=True)


@dataclass(frozen=True)
class Score:
    acc: float | None
    loss: float | None
    images: int


def eval_trainer(cfg: DictConfig, callbacks: Sequence[L.Callback] = ()) -> L.Trainer:
    """The job's trainer settings (accelerator, precision, test limits) on one device, with
    no loggers, checkpoints, pictures or progress bar."""
    settings = OmegaConf.to_container(cfg.trainer, resolve=True)
    assert isinstance(settings, dict)
    for key in _SPREAD:
        settings.pop(key, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return instantiate(
            settings,
            devices=1,
            callbacks=list(callbacks),
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )


def score(
    trainer: L.Trainer,
    model: L.LightningModule,
    datamodule: ImageDataModule,
    checkpoint: Path | None = None,
) -> Score:
    """Accuracy and loss on the datamodule's test split; ``checkpoint`` is loaded first
    (the weights stay loaded for the next call)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "does not have many workers" and the like
        (out,) = trainer.test(
            model,
            datamodule=datamodule,
            ckpt_path=None if checkpoint is None else str(checkpoint),
            weights_only=False,
            verbose=False,
        )
    return Score(
        _finite(out.get("test/acc")), _finite(out.get("test/loss")), _test_size(datamodule)
    )


def score_on(
    trainer: L.Trainer, model: L.LightningModule, datamodule: ImageDataModule, dataset: ArrayDataset
) -> Score:
    """``score`` with ``dataset`` in place of the test split, which is put back after."""
    previous = datamodule.replace_test_set(dataset)
    try:
        return score(trainer, model, datamodule)
    finally:
        datamodule.replace_test_set(previous)


def shift_results(
    trainer: L.Trainer,
    model: L.LightningModule,
    datamodule: ImageDataModule,
    spec: SuiteSpec,
    checkpoint: str,
    sets: ShiftedSets | None = None,
    clean: Score | None = None,
) -> ShiftResults:
    """The loaded weights on the clean test set (unless ``clean`` is given) and on each
    corruption of ``spec``: ``JobRecord.shift``."""
    clean = clean or score(trainer, model, datamodule)
    acc: dict[str, float | None] = {}
    loss: dict[str, float | None] = {}
    sources: dict[str, str] = {}
    for shifted in (sets or ShiftedSets(keep=False)).of(datamodule, spec):
        result = score_on(trainer, model, datamodule, ArrayDataset(shifted.images, shifted.labels))
        acc[shifted.name], loss[shifted.name] = result.acc, result.loss
        sources[shifted.name] = shifted.source
    return ShiftResults(
        suite=spec.name,
        seed=spec.seed,
        corruptions=list(spec.severity),
        severity=dict(spec.severity),
        source=overall_source(sources),
        sources=sources,
        acc=acc,
        loss=loss,
        mean_acc=complete_mean(acc.values()),
        clean_acc=clean.acc,
        images=clean.images,
        checkpoint=checkpoint,
    )


def other_data_config(job_cfg: DictConfig, dataset: str, overrides: Sequence[str]) -> DictConfig:
    """``conf/data/<dataset>.yaml`` with ``overrides`` (``data.path=/x``), resolved against the
    job's config (its data dir, seed). Naming the job's own dataset starts from the job's
    data config instead, so its padding and image size carry over."""
    folder = repo_root() / "conf" / "data"
    path = folder / f"{dataset}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.yaml")))
        raise ConfigError(f"--dataset {dataset}: no conf/data/{dataset}.yaml; choose from {known}")
    fresh = OmegaConf.load(path)
    cfg = copy.deepcopy(job_cfg)
    if fresh.get("_target_") != job_cfg.data.get("_target_"):
        cfg.data = fresh
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep or not key.startswith("data."):
            raise ConfigError(
                f"--dataset {dataset} {override}: give the test set's keys as data.KEY=VALUE"
            )
        cfg.merge_with(OmegaConf.from_dotlist([override]))
    try:
        data = OmegaConf.to_container(cfg.data, resolve=True)
    except Exception as err:
        raise ConfigError(f"--dataset {dataset}: {one_line(err)}") from err
    return OmegaConf.create(data)


def other_test(
    trainer: L.Trainer,
    model: L.LightningModule,
    datamodule: ImageDataModule,
    job_cfg: DictConfig,
    dataset: str,
    overrides: Sequence[str],
    checkpoint: str,
) -> OtherTest:
    """The loaded weights on another dataset's test split; a test set whose images or class
    count differ from the job's is refused in one line."""
    label = " ".join([dataset, *overrides])
    data_cfg = other_data_config(job_cfg, dataset, overrides)
    try:
        other: ImageDataModule = instantiate(data_cfg, augment=None)
        other.prepare_data()
        other.setup("test")
    except ConfigError as err:
        raise ConfigError(f"{label}: {err}") from err
    except Exception as err:
        raise ConfigError(f"{label}: cannot read its test set ({one_line(err)})") from err
    theirs, ours = other.test_set, datamodule.test_set
    assert theirs is not None and ours is not None
    if (
        theirs.images.shape[1:] != ours.images.shape[1:]
        or other.num_classes != datamodule.num_classes
    ):
        raise ConfigError(
            f"{label}: its test images are {_shape(theirs)} in {other.num_classes} classes, the "
            f"job's {_shape(ours)} in {datamodule.num_classes}: give a test set of the job's shape "
            "(data.pad_to, data.image_size)"
        )
    result = score_on(trainer, model, datamodule, theirs)
    return OtherTest(
        dataset=dataset,
        overrides=list(overrides),
        acc=result.acc,
        loss=result.loss,
        images=result.images,
        checkpoint=checkpoint,
    )


def shift_at_end(
    cfg: DictConfig,
    job_trainer: L.Trainer,
    model: L.LightningModule,
    datamodule: ImageDataModule,
    checkpoint: str,
    name: str = "run",
) -> ShiftResults | None:
    """``shift=mnist_c``: the suite on the weights the job just tested (still loaded).

    A stop request still stops the job (its StopCheck comes along); any other failure is
    one logged line and no shift results, never the loss of the job's own."""
    if job_trainer.world_size > 1:
        log.warning(
            "%s: shift: not run in a %d-process job; run python -m auglab.evaluate on its dir",
            name,
            job_trainer.world_size,
        )
        return None
    stops = [c for c in job_trainer.callbacks if isinstance(c, StopCheck)]
    started = time.perf_counter()
    try:
        spec = SuiteSpec.from_config(cfg.shift)
        trainer = eval_trainer(cfg, callbacks=stops)
        results = shift_results(trainer, model, datamodule, spec, checkpoint, _AT_END)
    except Interrupted:
        raise
    except Exception as err:
        log.error("%s: shift: %s; python -m auglab.evaluate runs it again", name, one_line(err))
        return None
    log.info("%s: %s (%.1f s)", name, describe(results), time.perf_counter() - started)
    return results


def describe(results: ShiftResults) -> str:
    """``under shift 0.8123 (clean 0.9812) over 15 corruptions of mnist_c, seed 0, generated``."""
    mean = results.get("mean_acc")
    clean = results.get("clean_acc")
    shown = "n/a" if mean is None else f"{mean:.4f}"
    return (
        f"under shift {shown} (clean {'n/a' if clean is None else f'{clean:.4f}'}) over "
        f"{len(results['acc'])} corruptions of {results['suite']}, seed {results['seed']}, "
        f"{results['source']}"
    )


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _test_size(datamodule: ImageDataModule) -> int:
    return 0 if datamodule.test_set is None else len(datamodule.test_set)


def _shape(dataset: ArrayDataset) -> str:
    _, h, w, c = dataset.images.shape
    return f"{c}x{h}x{w}"
