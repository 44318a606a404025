"""DivergenceGuard: a non-finite or exploded training loss stops the job as diverged."""

from __future__ import annotations

from functools import partial

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from auglab.callbacks import DivergenceGuard
from auglab.errors import ConfigError, Diverged
from auglab.models import ImageClassifier
from auglab.models.nets import MLP
from tests.data.toy import ToyData
from tests.helpers import quiet_trainer

FIX = "lower optim.lr (now 0.1), or clip gradients with trainer.gradient_clip_val=1.0"


class ScriptedLoss(L.LightningModule):
    """Trains on 8 one-sample batches; step ``n`` (from 1) reports ``losses[n]`` (2.3 otherwise)."""

    def __init__(self, losses: dict[int, float]) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(1))
        self.losses = losses
        self.steps_run = 0

    def training_step(self, batch, batch_idx):
        self.steps_run += 1
        value = self.losses.get(self.steps_run, 2.3)
        return self.weight.sum() * 0 + value  # the value, with a gradient to step on

    def train_dataloader(self):
        return DataLoader(TensorDataset(torch.zeros(8, 1)), batch_size=1)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def fit(tmp_path, losses: dict[int, float], guard: DivergenceGuard, **trainer_kwargs):
    model = ScriptedLoss(losses)
    trainer = quiet_trainer(tmp_path, max_epochs=2, callbacks=[guard], **trainer_kwargs)
    trainer.fit(model)
    return model, trainer


def test_a_normal_loss_trains_to_the_end(tmp_path):
    model, trainer = fit(tmp_path, {1: 2.3, 2: 9000.0, 5: 1e4}, DivergenceGuard())
    assert model.steps_run == 16 and trainer.global_step == 16  # 1e4 itself is not past it


def test_a_huge_finite_loss_is_diverged_at_its_step(tmp_path):
    with pytest.raises(Diverged) as err:
        fit(tmp_path, {11: 1.8e10}, DivergenceGuard())
    assert str(err.value) == (f"diverged at epoch 2 step 11 (loss 1.8e+10 > max_loss 10000): {FIX}")


def test_the_default_threshold_is_documented_as_1e4():
    guard = DivergenceGuard()
    assert guard.max_loss == 1e4
    assert "1e4" in DivergenceGuard.__doc__ and "2.3" in DivergenceGuard.__doc__


def test_max_loss_sets_the_threshold(tmp_path):
    model, _ = fit(tmp_path, {3: 50.0}, DivergenceGuard(max_loss=100))
    assert model.steps_run == 16
    with pytest.raises(
        Diverged, match=r"^diverged at epoch 1 step 3 \(loss 150 > max_loss 100\): "
    ):
        fit(tmp_path, {3: 150.0}, DivergenceGuard(max_loss=100))


@pytest.mark.parametrize(("loss", "shown"), [(float("nan"), "nan"), (float("inf"), "inf")])
def test_a_non_finite_loss_is_diverged_as_before(tmp_path, loss, shown):
    with pytest.raises(Diverged) as err:
        fit(tmp_path, {2: loss}, DivergenceGuard())
    assert str(err.value) == f"diverged at epoch 1 step 2 (loss {shown}): {FIX}"


def test_without_max_loss_only_non_finite_losses_stop(tmp_path):
    model, _ = fit(tmp_path, {2: 1e30}, DivergenceGuard(max_loss=None))
    assert model.steps_run == 16
    with pytest.raises(Diverged, match=r"\(loss nan\)"):
        fit(tmp_path, {2: float("nan")}, DivergenceGuard(max_loss=None))


def test_the_threshold_applies_to_the_loss_before_accumulation_divides_it(tmp_path):
    # Lightning hands the callback loss / accumulate_grad_batches: 2e4 / 4 = 5e3.
    with pytest.raises(Diverged, match=r"step 0 \(loss 2e\+04 > max_loss 10000\)"):
        fit(tmp_path, {1: 2e4}, DivergenceGuard(), accumulate_grad_batches=4)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), True, "1e4"])
def test_a_bad_threshold_is_a_config_error(bad):
    with pytest.raises(ConfigError, match=r"max_loss=.* must be a number > 0"):
        DivergenceGuard(max_loss=bad)


def classifier_run(tmp_path, lr: float) -> tuple[L.Trainer, ImageClassifier]:
    torch.manual_seed(0)
    dm = ToyData(tmp_path, size=64, batch_size=16)
    net = MLP(num_classes=3, input_shape=(1, 16, 16), hidden=[16])
    model = ImageClassifier(net, optimizer=partial(torch.optim.Adam, lr=lr))
    trainer = quiet_trainer(
        tmp_path, max_epochs=3, limit_val_batches=1, callbacks=[DivergenceGuard()]
    )
    trainer.fit(model, datamodule=dm)
    return trainer, model


@pytest.mark.slow
def test_the_classifier_at_a_sane_learning_rate_is_not_diverged(tmp_path):
    trainer, _ = classifier_run(tmp_path, lr=1e-3)
    assert trainer.current_epoch == 3 and trainer.global_step == 12
    assert float(trainer.callback_metrics["train/loss"]) < 10


def test_the_classifier_at_adam_lr_1e9_is_diverged_though_its_loss_stays_finite(tmp_path):
    with pytest.raises(Diverged) as err:
        classifier_run(tmp_path, lr=1e9)
    message = str(err.value)
    assert message.startswith("diverged at epoch 1 step ")
    assert "> max_loss 10000): lower optim.lr (now 1e+09)" in message
    assert "nan" not in message and "inf" not in message
