"""A few seconds of the first job, timed: what one training image, one evaluated image and
one job's start cost on this machine, and from them about how long each job of a sweep takes.

The sweep's process runs it before launching (``auglab.estimate``): it builds the first job's
datamodule and model as the job will (``auglab.job.build_data_and_model``), on the torch
threads the job will get, and times a few training steps (forward, loss, backward, optimiser
step, with the job's augmentation) and a few evaluation batches. Importing this module loads
Lightning (~3 s), which is one of the costs it measures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from auglab.data.subset import check_size, resolve_size
from auglab.job import build_data_and_model

#: Seconds of training steps, then of evaluation, the pilot times (after a first step).
TRAIN_SECONDS, EVAL_SECONDS = 2.0, 1.0


@dataclass(frozen=True)
class Costs:
    """What the pilot measured: seconds per training image (augmented, forward, backward,
    step), per evaluated image, and per job start (imports, reading data, building the
    model); the pool's, the validation's and the test's image counts."""

    train_image_s: float
    eval_image_s: float
    start_s: float
    pool_size: int
    val_images: int
    test_images: int
    seconds: float  # the pilot's own wall time

    def job_seconds(self, cfg: DictConfig) -> float:
        """About how long ``cfg``'s job takes, at most: ``max_epochs`` epochs of its
        training images (``samples_per_epoch`` or its size of this pool) and a validation
        pass each, the test at the end, and the start. Early stopping only shortens it."""
        size = resolve_size(check_size(_value(cfg, "data.size")), self.pool_size)
        per_epoch = _value(cfg, "data.samples_per_epoch") or size or self.pool_size
        epochs = _value(cfg, "trainer.max_epochs")
        epochs = 1 if epochs is None or epochs < 1 else epochs
        evaluated = epochs * self.val_images + self.test_images
        return (
            self.start_s + epochs * per_epoch * self.train_image_s + evaluated * self.eval_image_s
        )


def measure(cfg: DictConfig, threads: int, import_s: float = 0.0) -> Costs:
    """Build ``cfg``'s data and model and time a few steps on ``threads`` torch threads, on
    the GPU where the job's trainer would pick one (``import_s``: what importing the train
    task took, part of every job's start)."""
    began = time.perf_counter()
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        datamodule, model = build_data_and_model(_pilot_config(cfg))
        datamodule.setup("test")  # its size is part of the cost
        device = _device(cfg)
        model.to(device)
        start_s = import_s + time.perf_counter() - began
        train_image_s = _time_training(model, _on(device, datamodule.train_dataloader()))
        eval_image_s = _time_evaluation(model, _on(device, datamodule.val_dataloader()))
    finally:
        torch.set_num_threads(before)
    return Costs(
        train_image_s=train_image_s,
        eval_image_s=eval_image_s,
        start_s=start_s,
        pool_size=int(datamodule.pool_size or datamodule.train_size or 0),
        val_images=len(datamodule.val_set),
        test_images=len(datamodule.test_set),
        seconds=import_s + time.perf_counter() - began,
    )


def _device(cfg: DictConfig) -> torch.device:
    """Where the job trains: a GPU when its trainer asks for one (or ``auto``) and one is here."""
    accelerator = str(_value(cfg, "trainer.accelerator") or "auto").lower()
    wants_gpu = accelerator in ("auto", "gpu", "cuda")
    return torch.device("cuda" if wants_gpu and torch.cuda.is_available() else "cpu")


def _on(device: torch.device, batches: Iterable) -> Iterator[tuple[torch.Tensor, ...]]:
    """``batches`` moved to ``device``."""
    for batch in batches:
        yield tuple(t.to(device) for t in batch)


def _pilot_config(cfg: DictConfig) -> DictConfig:
    """``cfg`` resolvable outside a job: no synthetic set (its dir is the job's), no loader
    workers."""
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    with open_dict(cfg):
        cfg.data.synthetic_size = None
        cfg.data.synthetic_dir = None
        cfg.data.num_workers = 0
    return cfg


def _time_training(model: torch.nn.Module, batches: Iterable) -> float:
    """Seconds per training image: forward, loss, backward and optimiser step."""
    optimizer = model.configure_optimizers()
    if isinstance(optimizer, dict):
        optimizer = optimizer["optimizer"]
    model.train()

    def step(batch: tuple[torch.Tensor, ...]) -> int:
        x, y, *mixed = batch
        logits = model(x)
        # MixUp/CutMix batches carry the mixing weights, as the classifier's training_step
        onehot = torch.nn.functional.one_hot(y, logits.shape[1])
        target = mixed[0] @ onehot.to(mixed[0]) if mixed else y
        optimizer.zero_grad()
        model.criterion(logits, target).backward()
        optimizer.step()
        return len(y)

    return _seconds_per_image(batches, step, TRAIN_SECONDS)


def _time_evaluation(model: torch.nn.Module, batches: Iterable) -> float:
    """Seconds per evaluated image (forward only, no gradients)."""
    model.eval()
    with torch.no_grad():
        return _seconds_per_image(batches, lambda batch: len(model(batch[0])), EVAL_SECONDS)


def _seconds_per_image(batches: Iterable, step: Callable[[Any], int], budget: float) -> float:
    """Seconds per image of ``step`` over ``budget`` seconds of batches, the first batch
    (which warms up: allocations, optimiser state) left out unless it is the only one."""
    first_s = first_n = images = 0
    started = time.perf_counter()
    for batch in batches:
        n = step(batch)
        if torch.cuda.is_initialized():  # the GPU's work is queued: wait, so the clock is true
            torch.cuda.synchronize()
        if not first_n:
            first_s, first_n = time.perf_counter() - started, n
            started = time.perf_counter()
            continue
        images += n
        if time.perf_counter() - started > budget:
            break
    if images:
        return (time.perf_counter() - started) / images
    return first_s / first_n if first_n else 0.0


def _value(cfg: DictConfig, key: str) -> object:
    """A key of the job's config, resolved; None when absent or unresolvable here."""
    try:
        return OmegaConf.select(cfg, key, default=None)
    except Exception:
        return None
