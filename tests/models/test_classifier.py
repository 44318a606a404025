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
