"""Regularisation settings (conf/reg): scaled by reg.strength, applied where each part
lives (net, optimiser, training loss), one line for a value or network that cannot work,
and reg=off the same job as a config from before reg existed."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from auglab.errors import ConfigError
from auglab.models import ImageClassifier
from auglab.models.nets import LeNet5
from auglab.plan import fingerprint
from auglab.regularisation import (
    Regularisation,
    model_overrides,
    net_overrides,
    regularisation,
)

CONF = Path(__file__).resolve().parents[2] / "conf"


def composed(*overrides: str):
    with initialize_config_dir(str(CONF), version_base=None):
        return compose("train", overrides=list(overrides))


@pytest.mark.parametrize(
    ("name", "strength", "expected"),
    [
        ("weight_decay", 2, Regularisation("weight_decay", 2.0, weight_decay=1e-3)),
        ("dropout", 0.5, Regularisation("dropout", 0.5, dropout=0.15)),
        ("label_smoothing", 1, Regularisation("label_smoothing", 1.0, label_smoothing=0.1)),
        ("off", 3, Regularisation("off", 3.0)),
    ],
)
def test_each_setting_is_its_yaml_value_times_the_strength(name, strength, expected):
    cfg = composed(f"reg={name}", f"reg.strength={strength}")
    found = regularisation(cfg.reg)
    assert found.name == expected.name and found.strength == expected.strength
    for part in ("weight_decay", "dropout", "label_smoothing"):
        assert getattr(found, part) == pytest.approx(getattr(expected, part))
    assert found.active == (name != "off")


@pytest.mark.parametrize(
    ("reg", "message"),
    [
        ({"name": "dropout", "dropout": 0.3, "strength": 4}, "reg.dropout=0.3 x reg.strength=4"),
        ({"name": "x", "label_smoothing": 0.1, "strength": -1}, "reg.strength=-1 is negative"),
        ({"name": "x", "weight_decay": "a lot"}, "reg.weight_decay='a lot' is not a number"),
        ({"name": "x", "weight_decay": -1e-4}, "reg.weight_decay=-0.0001 is negative"),
    ],
)
def test_a_value_that_cannot_work_is_one_line(reg, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        regularisation(reg)


def test_a_network_without_a_dropout_knob_is_refused_naming_one_that_has_it():
    reg = regularisation({"name": "dropout", "dropout": 0.3})
    with pytest.raises(ConfigError, match="MLP has no dropout knob: use model=lenet5"):
        net_overrides(reg, {"_target_": "auglab.models.nets.MLP"})
    assert net_overrides(reg, {"_target_": "auglab.models.nets.LeNet5"}) == {"dropout": 0.3}
    assert net_overrides(regularisation(None), {"_target_": "auglab.models.nets.MLP"}) == {}


def test_lenet5_drops_hidden_features_only_while_training_and_keeps_its_checkpoint_keys():
    torch.manual_seed(0)
    plain = LeNet5()
    dropped = LeNet5(dropout=0.5)
    assert plain.state_dict().keys() == dropped.state_dict().keys()  # E1 checkpoints still load
    dropped.load_state_dict(plain.state_dict())
    x = torch.rand(8, 1, 32, 32)
    plain.eval(), dropped.eval()
    assert torch.equal(plain(x), dropped(x))
    dropped.train()
    assert not torch.equal(plain(x), dropped(x))


def test_weight_decay_reaches_the_optimiser_and_smoothing_only_the_training_loss():
    reg = regularisation({"name": "both", "weight_decay": 5e-4, "label_smoothing": 0.1})
    model = ImageClassifier(LeNet5(), partial(torch.optim.Adam, lr=1e-3), **model_overrides(reg))
    assert model.configure_optimizers().param_groups[0]["weight_decay"] == 5e-4
    logits, y = torch.tensor([[4.0, 0.0], [0.0, 4.0]]), torch.tensor([0, 1])
    assert model.train_criterion(logits, y) > model.criterion(logits, y)  # smoothed targets
    plain = ImageClassifier(LeNet5(), partial(torch.optim.Adam, lr=1e-3, weight_decay=1e-5))
    assert plain.configure_optimizers().param_groups[0]["weight_decay"] == 1e-5  # its own


def test_reg_off_at_any_strength_is_the_job_configs_made_before_reg_existed():
    before = OmegaConf.to_container(composed(), resolve=False)
    del before["reg"]
    prints = {fingerprint(composed("reg=off", f"reg.strength={s}")) for s in (1, 0.5, 2)}
    assert prints == {fingerprint(before)}
    scaled = {fingerprint(composed("reg=dropout", f"reg.strength={s}")) for s in (1, 0.5, 2)}
    assert len(scaled) == 3
