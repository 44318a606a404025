"""What makes a resumed run continue exactly where the killed one was."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.trainer.states import TrainerFn

from auglab.errors import ConfigError, Diverged


class RngCheckpoint(L.Callback):
    """Saves the python, numpy and torch (CPU and CUDA) RNG states with each checkpoint and
    puts them back when the next epoch starts, in the killed run and the resumed one alike.

    The states are taken once per epoch, when its training and validation are done (the
    moment ModelCheckpoint writes), and every epoch begins from the states taken at the
    end of the previous one: so a run resumed from that checkpoint draws the same
    augmentations, dropout masks and shuffles as the run that was never interrupted,
    whatever the resume itself (loading, the sanity check) drew in between.
    """

    def __init__(self) -> None:
        self._boundary: dict[str, Any] | None = None
        self._taken_at: int | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.state.fn == TrainerFn.FITTING and not trainer.sanity_checking:
            progress = trainer.fit_loop.epoch_loop.batch_progress
            if progress.is_last_batch or progress.current.ready >= trainer.num_training_batches:
                self._take(trainer.current_epoch)  # the epoch's end, not a mid-epoch check

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._take(trainer.current_epoch)  # no validation this epoch: the checkpoint is now

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._boundary is not None:
            set_rng_states(self._boundary)

    def _take(self, epoch: int) -> None:
        if self._taken_at != epoch:
            self._boundary, self._taken_at = rng_states(), epoch

    def state_dict(self) -> dict[str, Any]:
        return {"states": self._boundary if self._boundary is not None else rng_states()}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        self._boundary = dict(state_dict["states"])


def rng_states() -> dict[str, Any]:
    states = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: Mapping[str, Any]) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class DivergenceGuard(L.Callback):
    """Stops the job at the first training step whose loss is non-finite or above ``max_loss``,
    raising :class:`~auglab.errors.Diverged` with one line that names the epoch, the step, the
    loss and what to change (the job is then recorded ``diverged``).

    Lightning's EarlyStopping(check_finite) only looks at the monitored metric once an
    epoch; a NaN step would otherwise train on, poisoning every later weight.

    A loss can explode without ever becoming NaN: Adam at optim.lr=1e9 trains five epochs
    on losses of order 1e10 to a test accuracy of 0.36, and nothing says so. Hence
    ``max_loss`` (default 1e4). Cross-entropy is ln(10) ~ 2.3 for a uniform guess over 10
    classes, and a wrong answer costs about the gap between its logit and the right one's,
    so a training loss past 1e4 means logits of order 1e4: the weights have exploded, and a
    healthy run, whatever its data, net or augmentation, never comes near. It is checked
    against every step's loss, not an epoch's mean: one such step already means exploded
    weights, and stopping there saves the rest of the run as the NaN check does (both read
    the same value: one device sync a step). With gradient accumulation the step's loss is
    compared before Lightning divides it by ``trainer.accumulate_grad_batches``.
    ``max_loss=None`` keeps only the non-finite check.
    """

    def __init__(self, max_loss: float | None = 1e4) -> None:
        if max_loss is not None and (
            isinstance(max_loss, bool)
            or not isinstance(max_loss, int | float)
            or not max_loss > 0  # also refuses NaN
        ):
            raise ConfigError(
                f"DivergenceGuard max_loss={max_loss!r} must be a number > 0 (1e4 by default), "
                "or None for the non-finite check alone"
            )
        self.max_loss = max_loss

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if not isinstance(loss, torch.Tensor) or loss.numel() == 0:
            return
        flat = loss.detach().float().reshape(-1)
        scale = getattr(trainer, "accumulate_grad_batches", 1) or 1
        worst = float(flat.abs().max()) * scale  # NaN and inf survive abs and max
        if math.isfinite(worst) and (self.max_loss is None or worst <= self.max_loss):
            return
        if math.isfinite(worst):
            what = f"loss {worst:.3g} > max_loss {self.max_loss:g}"
        else:
            what = f"loss {float(flat[~torch.isfinite(flat)][0])}"
        lr = trainer.optimizers[0].param_groups[0]["lr"] if trainer.optimizers else None
        now = f" (now {lr:g})" if lr is not None else ""
        raise Diverged(
            f"diverged at epoch {trainer.current_epoch + 1} step {trainer.global_step} "
            f"({what}): lower optim.lr{now}, or clip gradients with trainer.gradient_clip_val=1.0"
        )
