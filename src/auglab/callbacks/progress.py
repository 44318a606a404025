"""How far a run is: a bar with ``Epoch 3/30`` and the batch count, or a line per epoch."""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar

log = logging.getLogger(__name__)


class EpochProgressBar(TQDMProgressBar):
    """Lightning's tqdm bar, with the epoch counted from 1 out of ``max_epochs``."""

    def on_train_epoch_start(self, trainer: L.Trainer, *args: Any) -> None:
        super().on_train_epoch_start(trainer, *args)
        total = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else "?"
        self.train_progress_bar.set_description(f"Epoch {trainer.current_epoch + 1}/{total}")


class EpochLogLine(L.Callback):
    """One log line per epoch instead of a bar: what parallel jobs print side by side.

    Two tqdm bars redrawn by two processes on one terminal garble each other; log lines
    from several jobs interleave and stay readable.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        metrics = trainer.callback_metrics  # this epoch's validation (train/* come after this hook)
        shown = " ".join(
            f"{key} {float(metrics[key]):.4f}" for key in ("val/loss", "val/acc") if key in metrics
        )
        total = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else "?"
        log.info("%s: epoch %d/%s %s", self.name, trainer.current_epoch + 1, total, shown)
