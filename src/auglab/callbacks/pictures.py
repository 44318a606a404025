"""The pictures a run leaves in ``<job dir>/pictures`` and in its W&B / TensorBoard logs.

One callback rather than one per picture: Lightning calls every hook of every
callback at every step, and on a 2-core CPU a LeNet-5 step is only ~3.7 ms.
Its per-step work is one ``list.append`` of the detached loss; everything else
happens at epoch, fit or test boundaries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from lightning.pytorch.trainer.states import TrainerFn
from matplotlib.figure import Figure
from PIL import Image
from torch import Tensor
from torchmetrics.classification import MulticlassConfusionMatrix

from auglab import plots
from auglab.checks import check_int

log = logging.getLogger(__name__)

EPOCH_METRICS = ("train/loss", "train/acc", "val/loss", "val/acc")


class RunPictures(L.Callback):
    """Confusion matrix, misclassified test images, learning curves, learning rate, augmented samples.

    Args:
        dirpath: folder of the PNG files (stable names, overwritten by a rerun).
        enabled: ``false`` turns every picture off.
        max_misclassified: misclassified test images in the grid (0: no grid).
        augmented_images: training images in the augmentation grid (0: no grid).
        augmented_draws: augmented draws shown beside each of them.
    """

    def __init__(
        self,
        dirpath: str | Path,
        enabled: bool = True,
        max_misclassified: int = 36,
        augmented_images: int = 6,
        augmented_draws: int = 7,
    ) -> None:
        self.dirpath = Path(dirpath)
        self.enabled = bool(enabled)
        self.max_misclassified = _count("max_misclassified", max_misclassified)
        self.augmented_images = _count("augmented_images", augmented_images)
        self.augmented_draws = _count("augmented_draws", augmented_draws)
        #: Seconds each picture took to draw and save, by file name.
        self.seconds: dict[str, float] = {}
        self._reset_fit()
        self._reset_test()

    # ---- fit: augmented samples, learning curves, learning rate -------------------------------
    def _reset_fit(self) -> None:
        self._epoch_losses: list[Tensor] = []  # this epoch's per-batch losses, detached
        self._step_losses: list[Tensor] = []  # earlier epochs', on the CPU
        self._epochs: dict[str, dict[int, float]] = {k: {} for k in EPOCH_METRICS}
        self._lrs: dict[int, float] = {}
        self._ended_epoch: int | None = None  # train metrics of this epoch are still to be read

    def state_dict(self) -> dict[str, Any]:
        """The curves so far, so a resumed run draws them from epoch 1."""
        return {"epochs": self._epochs, "lrs": self._lrs, "step_losses": self._step_losses}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        self._reset_fit()
        self._epochs = {k: dict(v) for k, v in state_dict["epochs"].items()}
        self._lrs = dict(state_dict["lrs"])
        self._step_losses = list(state_dict["step_losses"])
        self._resumed = True  # Lightning restores before or after on_fit_start, by strategy

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not getattr(self, "_resumed", False):
            self._reset_fit()
        self._resumed = False
        if self.enabled and trainer.is_global_zero and self.augmented_images > 0:
            self._augmented_samples(trainer)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.enabled:
            return
        self._read_train_metrics(trainer)
        if trainer.lr_scheduler_configs and trainer.optimizers:
            lr = trainer.optimizers[0].param_groups[0]["lr"]
            self._lrs[trainer.current_epoch + 1] = float(lr)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if self.enabled and isinstance(loss, Tensor):
            self._epoch_losses.append(loss.detach())  # no .item(): a GPU sync per step

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.enabled:
            return
        if self._epoch_losses:
            self._step_losses.append(torch.stack(self._epoch_losses).float().cpu())
            self._epoch_losses = []
        # Lightning runs this hook before the module's own, which logs train/loss and
        # train/acc: they are read when the next epoch starts or training ends.
        self._ended_epoch = trainer.current_epoch

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.enabled or trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        for key in ("val/loss", "val/acc"):
            value = trainer.callback_metrics.get(key)
            if value is not None:
                self._epochs[key][trainer.current_epoch + 1] = float(value)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.enabled:
            self._read_train_metrics(trainer)
            self._fit_pictures(trainer)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        """An interrupted run (Ctrl-C, a crash) still leaves its curves so far."""
        if not self.enabled or trainer.state.fn != TrainerFn.FITTING:
            return
        try:
            self._read_train_metrics(trainer)
            self._fit_pictures(trainer)
        except Exception as err:  # never hide the exception that stopped the run
            # One line: the run's own end says why it stopped (a full disk fails here too).
            log.warning("Could not draw the learning curves of the interrupted run: %s", err)

    def _read_train_metrics(self, trainer: L.Trainer) -> None:
        if self._ended_epoch is None:
            return
        for key in ("train/loss", "train/acc"):
            value = trainer.callback_metrics.get(key)
            if value is not None:
                self._epochs[key][self._ended_epoch + 1] = float(value)
        self._ended_epoch = None

    def _fit_pictures(self, trainer: L.Trainer) -> None:
        if not trainer.is_global_zero:
            return
        losses = torch.cat(
            [*self._step_losses, *(t.float().cpu()[None] for t in self._epoch_losses)]
        )
        epochs = {k: sorted(v.items()) for k, v in self._epochs.items()}
        if losses.numel() or any(epochs.values()):
            self._publish(
                trainer, "learning_curves", plots.learning_curves_figure, epochs, losses.tolist()
            )
        if self._lrs:
            self._publish(
                trainer, "learning_rate", plots.learning_rate_figure, sorted(self._lrs.items())
            )

    def _augmented_samples(self, trainer: L.Trainer) -> None:
        train_set = getattr(trainer.datamodule, "train_set", None)
        views = getattr(train_set, "augmented_views", None)  # as training sees them, mixing too
        if getattr(train_set, "transform", None) is None or views is None:
            return  # not augmented: nothing to show
        names = _class_names(trainer)
        chosen = _one_per_class(train_set.labels, self.augmented_images)
        # The draws come from torch's generator; restoring it leaves the run's random
        # stream (shuffling, augmentation) exactly as it would be without this picture.
        state = torch.random.get_rng_state()
        try:
            draws = [views(i, self.augmented_draws) for i in chosen]
        finally:
            torch.random.set_rng_state(state)
        originals = [train_set.images[i] for i in chosen]
        labels = [names[int(train_set.labels[i])] for i in chosen]
        self._publish(
            trainer, "augmented_samples", plots.augmented_samples_figure, originals, draws, labels
        )

    # ---- test: confusion matrix and misclassified images ---------------------------------------
    def _reset_test(self) -> None:
        self._confmat: MulticlassConfusionMatrix | None = None
        self._wrong: list[tuple[Tensor, Tensor, Tensor]] = []
        self._wrong_count = 0

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._reset_test()
        if self.enabled:
            n = len(_class_names(trainer))
            self._confmat = MulticlassConfusionMatrix(n, validate_args=False).to(pl_module.device)

    def on_test_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self._confmat is None or not isinstance(outputs, Tensor):
            return
        x, y = batch
        self._confmat.update(outputs, y)
        room = self.max_misclassified - self._wrong_count
        if room > 0 and trainer.is_global_zero:
            wrong = (outputs != y).nonzero().squeeze(1)[:room]
            if len(wrong):
                self._wrong.append((x[wrong].cpu(), y[wrong].cpu(), outputs[wrong].cpu()))
                self._wrong_count += len(wrong)

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._confmat is None or not self._confmat.update_called:
            return
        self._confmat.compute()  # on every rank: it gathers the counts of all of them
        if not trainer.is_global_zero:
            return
        names = _class_names(trainer)
        self._publish(
            trainer, "confusion_matrix", plots.confusion_matrix_figure, self._confmat, names
        )
        if self.max_misclassified > 0:
            if self._wrong:
                images, targets, preds = (
                    torch.cat(parts) for parts in zip(*self._wrong, strict=True)
                )
            else:
                images, targets, preds = torch.empty(0), torch.empty(0), torch.empty(0)
            self._publish(
                trainer, "misclassified", plots.misclassified_figure, images, targets, preds, names
            )

    # ---- output ------------------------------------------------------------------------------
    def _publish(self, trainer: L.Trainer, name: str, draw, *args: Any) -> Path:
        """Draw, save ``<dirpath>/<name>.png`` and hand it to the W&B and TensorBoard loggers."""
        started = time.perf_counter()
        fig: Figure = draw(*args)
        path = plots.save_png(fig, self.dirpath / f"{name}.png")
        log_picture(trainer, f"pictures/{name}", path)
        self.seconds[path.name] = time.perf_counter() - started
        log.debug("%s drawn in %.3f s", path, self.seconds[path.name])
        return path


def log_picture(trainer: L.Trainer, key: str, path: Path) -> None:
    """Send a PNG to every W&B and TensorBoard logger of ``trainer`` (others have no images)."""
    pixels = None
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            logger.log_image(key=key, images=[str(path)], step=trainer.global_step)
        elif isinstance(logger, TensorBoardLogger):
            if pixels is None:
                with Image.open(path) as image:
                    pixels = np.asarray(image.convert("RGB"))
            logger.experiment.add_image(key, pixels, trainer.global_step, dataformats="HWC")


def _class_names(trainer: L.Trainer) -> Sequence[str]:
    names = getattr(trainer.datamodule, "class_names", None)
    if names:
        return [str(n) for n in names]
    num_classes = getattr(getattr(trainer.lightning_module, "net", None), "num_classes", None)
    if num_classes is None:
        raise ValueError("RunPictures needs the datamodule's class_names or the net's num_classes")
    return [str(i) for i in range(num_classes)]


def _one_per_class(labels: Tensor, n: int) -> list[int]:
    """Indices of the first image of each class, in label order, topped up to ``n`` in file order."""
    labels = torch.as_tensor(labels)
    chosen = [int((labels == c).nonzero()[0]) for c in torch.unique(labels)][:n]
    taken = set(chosen)
    chosen += [i for i in range(min(len(labels), 2 * n)) if i not in taken][: n - len(chosen)]
    return chosen


def _count(name: str, value: object) -> int:
    return check_int(value, f"callbacks.pictures.{name}", 0, hint="0 turns that picture off")
