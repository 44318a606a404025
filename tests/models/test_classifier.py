"""ImageClassifier: optimiser/scheduler partials and metric bookkeeping."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from auglab.models import ImageClassifier
from auglab.models.nets import LeNet5
from tests.helpers import quiet_trainer


def test_partials_are_completed_with_the_parameters():
    sched = partial(torch.optim.lr_scheduler.ReduceLROnPlateau, factor=0.3, patience=2)
    model = ImageClassifier(LeNet5(), partial(torch.optim.Adam, lr=5e-4), sched)
    conf = model.configure_optimizers()
    assert isinstance(conf["optimizer"], torch.optim.Adam)
    assert conf["optimizer"].param_groups[0]["lr"] == 5e-4
    assert conf["lr_scheduler"]["monitor"] == "val/loss"
    assert conf["lr_scheduler"]["scheduler"].factor == 0.3


def test_train_accuracy_counts_every_image_of_the_epoch(tmp_path):
    torch.manual_seed(0)
    x, y = torch.rand(96, 1, 32, 32), torch.randint(0, 10, (96,))
    loader = DataLoader(TensorDataset(x, y), batch_size=32)
    model = ImageClassifier(LeNet5(), partial(torch.optim.SGD, lr=0.0))  # lr 0: weights stay put
    trainer = quiet_trainer(tmp_path, num_sanity_val_steps=0)
    trainer.fit(model, loader, loader)
    with torch.no_grad():
        expected = (model(x).argmax(1) == y).float().mean()
    assert torch.isclose(trainer.callback_metrics["train/acc"], expected)
    assert torch.isclose(trainer.callback_metrics["val/acc"], expected)
    assert torch.isclose(trainer.callback_metrics["val/acc_best"], expected)


@pytest.mark.slow
def test_a_compiled_network_keeps_its_state_dict_keys_and_outputs():
    torch.manual_seed(0)
    plain = ImageClassifier(LeNet5(), partial(torch.optim.Adam))
    compiled = ImageClassifier(LeNet5(), partial(torch.optim.Adam), compile={"backend": "eager"})
    assert list(compiled.state_dict()) == list(plain.state_dict())  # checkpoints interchange
    compiled.load_state_dict(plain.state_dict())
    x = torch.rand(4, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(compiled(x), plain(x))


def test_input_normalization_standardises_each_channel_and_keeps_checkpoint_keys():
    torch.manual_seed(0)
    model = ImageClassifier(LeNet5(input_shape=(3, 32, 32)), partial(torch.optim.Adam)).eval()
    keys = list(model.state_dict())
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        plain = model(x)
        model.set_input_normalization((0.1, 0.2, 0.3), (0.5, 0.25, 2.0))
        normalised = model(x)
        mean = torch.tensor([0.1, 0.2, 0.3]).view(1, 3, 1, 1)
        std = torch.tensor([0.5, 0.25, 2.0]).view(1, 3, 1, 1)
        expected = model.net((x - mean) / std)
    assert torch.allclose(normalised, expected) and not torch.allclose(normalised, plain)
    assert list(model.state_dict()) == keys  # not persistent: checkpoints are unchanged


def test_without_statistics_the_inputs_reach_the_network_unchanged():
    torch.manual_seed(0)
    model = ImageClassifier(LeNet5(), partial(torch.optim.Adam)).eval()
    x = torch.rand(4, 1, 32, 32)
    assert model.input_mean is None and model.input_std is None
    with torch.no_grad():
        assert torch.equal(model(x), model.net(x))
