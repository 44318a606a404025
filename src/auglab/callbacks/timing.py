"""Training throughput, measured on the training loop alone (not validation)."""

from __future__ import annotations

import time

import lightning as L


class TrainTimer(L.Callback):
    """Counts training images and the seconds spent in training batches.

    The clock runs from the start of each training epoch until validation (or
    the epoch's end) begins, so ``images_per_second`` compares recipes and
    dataset sizes without the fixed cost of evaluating the validation set.
    """

    def __init__(self) -> None:
        self.images = 0
        self.epoch_seconds: list[float] = []
        self._started: float | None = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        self.images += len(batch[1]) * trainer.world_size

    def _stop(self) -> None:
        if self._started is not None:
            self.epoch_seconds.append(time.perf_counter() - self._started)
            self._started = None

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._stop()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._stop()

    def state_dict(self) -> dict:
        return {"images": self.images, "epoch_seconds": list(self.epoch_seconds)}

    def load_state_dict(self, state_dict: dict) -> None:
        """A resumed run counts the images and seconds of the epochs before the kill too."""
        self.images = int(state_dict["images"])
        self.epoch_seconds = list(state_dict["epoch_seconds"])

    @property
    def seconds(self) -> float:
        return sum(self.epoch_seconds)

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0
