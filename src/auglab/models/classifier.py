"""The single LightningModule: cross-entropy classification with any injected network."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MaxMetric, MeanMetric
from torchmetrics.classification import MulticlassAccuracy, MulticlassStatScores

from auglab.models.transfer import freeze_backbone as freeze_backbone_of
from auglab.models.transfer import load_backbone, set_frozen_to_eval
from auglab.record import CLASS_ACC_METRIC


class ImageClassifier(L.LightningModule):
    """Trains ``net`` (an ``nn.Module`` with ``num_classes``) with cross-entropy.

    ``optimizer`` and ``scheduler`` are partials (Hydra ``_partial_: true``)
    completed here with the parameters, so recipes stay in yaml.
    ``init_from`` starts the network from another run's checkpoint: every layer but
    the head (which ``net`` already has sized for this dataset); ``freeze_backbone``
    then trains the head alone. ``compile`` (true, or ``torch.compile`` options such as
    ``{mode: max-autotune}``) compiles the network: worth it on a GPU for long runs; on a
    CPU the compile time outweighs a short run. ``label_smoothing`` and ``weight_decay``
    (None: the optimiser's own) come from the regularisation setting (``conf/reg``).
    """

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., object] | None = None,
        scheduler_monitor: str = "val/loss",
        channels_last: bool = True,
        init_from: str | None = None,
        freeze_backbone: bool = False,
        compile: bool | Mapping[str, Any] = False,
        label_smoothing: float = 0.0,
        weight_decay: float | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net"], logger=False)
        if init_from is not None:
            load_backbone(net, init_from)
        if freeze_backbone:
            freeze_backbone_of(net)
        # Channels-last weights take oneDNN's fast convolution path: LeNet-5 trains
        # 1.6x faster on a 2-core CPU (bench/overhead.py), and GPUs prefer it too.
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.net = net.to(memory_format=self.memory_format)
        if compile:
            # In place (nn.Module.compile): the state dict keeps its keys, so checkpoints
            # load into compiled and plain networks alike.
            self.net.compile(**({} if compile is True else dict(compile)))
        # Input standardisation (set_input_normalization); None leaves inputs as loaded.
        # Not persistent: the datamodule recomputes the statistics from the training
        # images, so checkpoints keep the same keys with or without them.
        self.register_buffer("input_mean", None, persistent=False)
        self.register_buffer("input_std", None, persistent=False)
        self.criterion = nn.CrossEntropyLoss()
        # Label smoothing (reg=label_smoothing) shapes the training targets only: validation
        # and test losses stay plain cross-entropy, comparable across settings.
        self.train_criterion = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        n = net.num_classes
        # validate_args=False: the per-step value checks cost more than LeNet-5's step on CPU.
        self.train_acc = MulticlassAccuracy(n, average="micro", validate_args=False)
        self.val_acc = MulticlassAccuracy(n, average="micro", validate_args=False)
        self.test_acc = MulticlassAccuracy(n, average="micro", validate_args=False)
        # Per-class test counts: augmentation that helps the mean can cost single classes
        # (Balestriero et al. 2022), so each class's accuracy is logged and recorded.
        self.test_class_stats = MulticlassStatScores(n, average=None, validate_args=False)
        self.train_loss, self.val_loss, self.test_loss = MeanMetric(), MeanMetric(), MeanMetric()
        self.val_acc_best = MaxMetric()
        self.val_acc_best.persistent(True)  # in checkpoints: a resumed run knows its best epoch

    def set_input_normalization(self, mean: Sequence[float], std: Sequence[float]) -> None:
        """Standardise each input channel, ``(x - mean) / std``, before the network: the
        datamodule's ``channel_stats`` (``auglab.job.build_data_and_model`` sets them)."""
        shape = (1, len(mean), 1, 1)
        self.input_mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(shape)
        self.input_std = torch.tensor(std, dtype=torch.float32, device=self.device).view(shape)

    def forward(self, x: Tensor) -> Tensor:
        if self.input_mean is not None:
            x = (x - self.input_mean) / self.input_std
        if x.dim() == 4:
            x = x.contiguous(memory_format=self.memory_format)
        return self.net(x)

    def train(self, mode: bool = True) -> ImageClassifier:
        super().train(mode)
        if mode and self.hparams.freeze_backbone:
            set_frozen_to_eval(self.net)
        return self

    def on_fit_start(self) -> None:
        # Lightning keeps each module's mode as it finds it (and restores it after
        # validation), so frozen batch norms are put in inference mode once here.
        if self.hparams.freeze_backbone:
            set_frozen_to_eval(self.net)

    def __setattr__(self, name: str, value: object) -> None:
        # Lightning sets this plain string around every hook, ~40 times a step; the
        # generic nn.Module.__setattr__ checks it against parameters, buffers and modules.
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def _shared_step(
        self, batch: tuple[Tensor, Tensor], acc: MulticlassAccuracy, mean_loss: MeanMetric
    ) -> tuple[Tensor, Tensor]:
        """(loss, predicted classes) of one evaluation batch; updates the metrics."""
        x, y = batch
        logits = self(x)
        loss = self.criterion(logits, y)
        preds = logits.detach().argmax(dim=1)
        acc.update(preds, y)
        mean_loss.update(loss.detach(), weight=len(y))
        return loss, preds

    def on_train_epoch_start(self) -> None:
        self._train_outputs: list[tuple[Tensor, Tensor, Tensor]] = []

    def training_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        x, y, *mixed = batch
        logits = self(x)
        # MixUp/CutMix batches carry weights[i, j], the share of image j in input i
        # (auglab.aug.mix): the loss target is that mix of one-hot labels; accuracy stays on y.
        target = mixed[0] @ nn.functional.one_hot(y, logits.shape[1]).to(mixed[0]) if mixed else y
        loss = self.train_criterion(logits, target)
        # Training metrics are updated once per epoch from these: a torchmetrics update
        # per step costs ~0.1 ms, a few per cent of LeNet-5's step on a 2-core CPU.
        self._train_outputs.append((loss.detach(), logits.detach().argmax(dim=1), y))
        # Only on the steps the loggers record, for the same reason.
        if (self.global_step + 1) % self.trainer.log_every_n_steps == 0:
            self.log("train/loss_step", loss, on_step=True, on_epoch=False)
        return loss

    def on_train_epoch_end(self) -> None:
        if self._train_outputs:
            losses, preds, targets = zip(*self._train_outputs, strict=True)
            sizes = torch.tensor([len(t) for t in targets], dtype=torch.float32, device=self.device)
            self.train_loss.update(torch.stack(losses), weight=sizes)
            self.train_acc.update(torch.cat(preds), torch.cat(targets))
            self._train_outputs.clear()
        self.log("train/loss", self.train_loss.compute(), sync_dist=True, prog_bar=True)
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

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        """Returns the predicted classes: callbacks draw the confusion matrix from them."""
        preds = self._shared_step(batch, self.test_acc, self.test_loss)[1]
        self.test_class_stats.update(preds, batch[1])
        return preds

    def on_test_epoch_end(self) -> None:
        self.log("test/loss", self.test_loss.compute(), sync_dist=True)
        self.log("test/acc", self.test_acc.compute(), sync_dist=True)
        # Logged, not kept on the module: trainer.test returns logged values to train.py
        # also from spawned processes (ddp_spawn). NaN for a class with no test image.
        stats = self.test_class_stats.compute()  # per class: tp, fp, tn, fn, support
        per_class = stats[:, 0].float() / stats[:, 4].float()
        self.log_dict({CLASS_ACC_METRIC.format(c): acc for c, acc in enumerate(per_class)})
        self.test_acc.reset()
        self.test_loss.reset()
        self.test_class_stats.reset()

    def configure_optimizers(self):
        trainable = [p for p in self.parameters() if p.requires_grad]
        # reg=weight_decay's value replaces the optimiser's own weight_decay
        decay = self.hparams.weight_decay
        extra = {} if decay is None else {"weight_decay": decay}
        optimizer = self.hparams.optimizer(params=trainable, **extra)
        if self.hparams.scheduler is None:
            return optimizer
        scheduler = self.hparams.scheduler(optimizer=optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {
                "scheduler": scheduler,
                "monitor": self.hparams.scheduler_monitor,
                "interval": "epoch",
            },
        }
