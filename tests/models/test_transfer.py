"""model.init_from / model.freeze_backbone: reuse a trained network with a new head."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from auglab.errors import ConfigError
from auglab.models import ImageClassifier
from auglab.models.nets import LeNet5
from auglab.models.transfer import BATCH_NORMS, set_frozen_to_eval
from tests.helpers import quiet_trainer


def saved_checkpoint(tmp_path, net: nn.Module) -> str:
    """What Lightning writes: the module's state under ``state_dict`` with ``net.`` keys."""
    path = tmp_path / "trained.ckpt"
    torch.save({"state_dict": {f"net.{k}": v for k, v in net.state_dict().items()}}, path)
    return str(path)


def adam():
    return partial(torch.optim.Adam, lr=1e-2)


def test_backbone_comes_from_the_checkpoint_head_is_new_and_resized(tmp_path):
    torch.manual_seed(0)
    trained = LeNet5(num_classes=10)
    path = saved_checkpoint(tmp_path, trained)
    model = ImageClassifier(LeNet5(num_classes=2), adam(), init_from=path)
    for name, value in trained.state_dict().items():
        if not name.startswith("head."):
            assert torch.equal(model.net.state_dict()[name], value), name
    assert model.net.head.out_features == 2
    assert model(torch.rand(4, 1, 32, 32)).shape == (4, 2)


def test_plain_state_dict_is_accepted(tmp_path):
    trained = LeNet5()
    path = tmp_path / "net.pt"
    torch.save(trained.state_dict(), path)
    model = ImageClassifier(LeNet5(num_classes=3), adam(), init_from=str(path))
    assert torch.equal(model.net.features[0].weight, trained.features[0].weight)


def test_mismatched_backbone_names_the_layers(tmp_path):
    path = saved_checkpoint(tmp_path, LeNet5(input_shape=(3, 32, 32)))
    with pytest.raises(ConfigError, match=r"features\.0\.weight \(6, 3, 5, 5\) vs \(6, 1, 5, 5\)"):
        ImageClassifier(LeNet5(), adam(), init_from=path)


def test_missing_layers_are_named(tmp_path):
    path = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"net.encoder.weight": torch.zeros(3)}}, path)
    with pytest.raises(
        ConfigError,
        match=r"missing from checkpoint: features\.0\.weight.*not in model\.net: encoder\.weight",
    ):
        ImageClassifier(LeNet5(), adam(), init_from=str(path))


def test_missing_file_says_what_to_pass(tmp_path):
    with pytest.raises(ConfigError, match="no such file.*last.ckpt"):
        ImageClassifier(LeNet5(), adam(), init_from=str(tmp_path / "nope.ckpt"))


@pytest.mark.slow
def test_frozen_backbone_does_not_move_and_the_head_learns(tmp_path):
    torch.manual_seed(0)
    path = saved_checkpoint(tmp_path, LeNet5())
    model = ImageClassifier(LeNet5(num_classes=2), adam(), init_from=path, freeze_backbone=True)
    backbone = {k: v.clone() for k, v in model.net.features.state_dict().items()}
    head = model.net.head.weight.detach().clone()
    x, y = torch.rand(64, 1, 32, 32), torch.randint(0, 2, (64,))
    trainer = quiet_trainer(tmp_path, max_epochs=2)
    trainer.fit(model, DataLoader(TensorDataset(x, y), batch_size=16))
    for name, value in model.net.features.state_dict().items():
        assert torch.equal(value, backbone[name]), name
    assert not torch.equal(model.net.head.weight, head)
    optimised = model.configure_optimizers().param_groups[0]["params"]
    assert {id(p) for p in optimised} == {id(p) for p in model.net.head.parameters()}


def test_frozen_batch_norm_keeps_the_checkpoint_statistics():
    class Tiny(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.num_classes = 2
            self.features = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.BatchNorm1d(3))
            self.head = nn.Linear(3, 2)

        def forward(self, x):
            return self.head(self.features(x))

    model = ImageClassifier(Tiny(), adam(), freeze_backbone=True, channels_last=False)
    model.train()
    bn = model.net.features[2]
    assert not bn.training and model.net.head.training
    before = bn.running_mean.clone()
    model(torch.rand(8, 4))
    assert torch.equal(bn.running_mean, before)


def test_every_public_batch_norm_of_torch_counts_as_one():
    public = {getattr(nn, name) for name in dir(nn) if "BatchNorm" in name}
    assert public == set(BATCH_NORMS)


def test_frozen_batch_norms_of_every_kind_run_in_inference_mode():
    net = nn.Sequential(nn.BatchNorm1d(3), nn.SyncBatchNorm(3), nn.BatchNorm2d(3), nn.Linear(3, 3))
    for module in list(net)[:2]:
        module.requires_grad_(False)
    net.train()
    set_frozen_to_eval(net)
    assert [m.training for m in net] == [False, False, True, True]
