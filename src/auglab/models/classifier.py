"""The single LightningModule: cross-entropy classification with any injected network."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MaxMetric, MeanMetric
from torchmetrics.classification import MulticlassAccuracy


class ImageClassifier(L.LightningModule):
    """Trains ``net`` (an ``nn.Module`` with ``num_classes``) with cross-entropy.

    ``optimizer`` and ``scheduler`` are partials (Hydra ``_partial_: true``)
    completed here with the parameters, so recipes stay in yaml.
    """

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., object] | None = None,
        scheduler_monitor: str = "val/loss",
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net"], logger=False)
        self.net = net
        self.criterion = nn.CrossEntropyLoss()
        n = net.num_classes
        # validate_args=False: the per-step value checks cost more than LeNet-5's step on CPU.
        self.train_acc = MulticlassAccuracy(n, average="micro", validate_args=False)
        self.val_acc = MulticlassAccuracy(n, average="micro", validate_args=False)
        self.test_acc = MulticlassAccuracy(n, average="micro", validate_args=False)
        self.train_loss, self.val_loss, self.test_loss = MeanMetric(), MeanMetric(), MeanMetric()
        self.val_acc_best = MaxMetric()

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def _shared_step(self, batch: tuple[Tensor, Tensor], acc, mean_loss) -> Tensor:
        x, y = batch
        logits = self(x)
        loss = self.criterion(logits, y)
        acc.update(logits.detach().argmax(dim=1), y)
        mean_loss.update(loss.detach(), weight=len(y))
        return loss

    def on_train_start(self) -> None:
        self.val_acc_best.reset()  # drop the sanity-check pass

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        loss = self._shared_step(batch, self.train_acc, self.train_loss)
        self.log("train/loss_step", loss, on_step=True, on_epoch=False, prog_bar=True)
        return loss

    def on_train_epoch_end(self) -> None:
        self.log("train/loss", self.train_loss.compute(), sync_dist=True)
        self.log("train/acc", self.train_acc.compute(), sync_dist=True, prog_bar=True)
        self.train_loss.reset()
        self.train_acc.reset()

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._shared_step(batch, self.val_acc, self.val_loss)

    def on_validation_epoch_end(self) -> None:
        acc = self.val_acc.compute()
        self.log("val/loss", self.val_loss.compute(), sync_dist=True, prog_bar=True)
        self.log("val/acc", acc, sync_dist=True, prog_bar=True)
        if not self.trainer.sanity_checking:
            self.val_acc_best.update(acc)
            self.log("val/acc_best", self.val_acc_best.compute(), sync_dist=True)
        self.val_acc.reset()
        self.val_loss.reset()

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._shared_step(batch, self.test_acc, self.test_loss)

    def on_test_epoch_end(self) -> None:
        self.log("test/loss", self.test_loss.compute(), sync_dist=True)
        self.log("test/acc", self.test_acc.compute(), sync_dist=True)
        self.test_acc.reset()
        self.test_loss.reset()

    def configure_optimizers(self):
        optimizer = self.hparams.optimizer(params=self.parameters())
        if self.hparams.scheduler is None:
            return optimizer
        scheduler = self.hparams.scheduler(optimizer=optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "monitor": self.hparams.scheduler_monitor, "interval": "epoch"},
        }
