"""data.device_batches: batches built from tensors on the training device.

On a GPU the data live there; the same code runs on the CPU, where it must give
the DataLoader path's batches bit for bit (so a GPU run is the same experiment).
"""

from __future__ import annotations

import pytest
import torch

from auglab.aug import build_augmentation
from auglab.data.device import DeviceBatches
from auglab.errors import ConfigError
from tests.data.toy import ToyData
from tests.helpers import record, train

AFFINE = {"name": "on", "transforms": [{"_target_": "albumentations.Affine", "rotate": [-30, 30]}]}
PER_IMAGE = {"name": "blur", "transforms": [{"_target_": "albumentations.GaussianBlur", "p": 1.0}]}


def epochs(dm: ToyData, n: int = 2) -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
    """``n`` epochs of training batches, each epoch followed by a pass over the validation set."""
    torch.manual_seed(0)
    out = []
    for _ in range(n):
        out.append(list(dm.train_dataloader()))
        list(dm.val_dataloader())
    return out


@pytest.mark.parametrize(
    "knobs",
    [{}, {"augment": AFFINE}, {"samples_per_epoch": 256}, {"size": 20, "samples_per_epoch": 96}],
    ids=["plain", "augmented", "samples_per_epoch", "with_replacement"],
)
def test_device_batches_equal_dataloader_batches_bit_for_bit(tmp_path, knobs):
    knobs = dict(knobs)
    preset = knobs.pop("augment", None)
    runs = []
    for on_device in (False, True):
        dm = ToyData(
            tmp_path,
            batch_size=32,
            augment=build_augmentation(preset),
            device_batches=on_device,
            **knobs,
        )
        dm.setup("fit")
        loader = dm.train_dataloader()
        assert isinstance(loader, DeviceBatches) == on_device
        runs.append(epochs(dm))
    host, device = runs
    assert len(host[0]) == len(device[0]) == len(dm.train_dataloader())
    for host_epoch, device_epoch in zip(host, device, strict=True):
        for (x1, y1), (x2, y2) in zip(host_epoch, device_epoch, strict=True):
            assert torch.equal(y1, y2)
            assert torch.equal(x1, x2) and x2.is_contiguous()
    assert not torch.equal(host[0][0][0], host[1][0][0])  # epochs differ: reshuffled


def test_evaluation_batches_are_sequential_and_unaugmented(tmp_path):
    dm = ToyData(
        tmp_path, eval_batch_size=20, augment=build_augmentation(AFFINE), device_batches=True
    )
    dm.setup("fit")
    batches = list(dm.val_dataloader())
    assert [len(y) for _, y in batches] == [20, 20, 10]
    first_pixels = torch.cat([x[:, 0, 0, 0] for x, _ in batches]).mul(255).round().long()
    assert first_pixels.tolist() == [i % 256 for i in range(250, 300)]  # uint8 stamps wrap


def test_forcing_device_batches_with_a_per_image_augmentation_is_one_line_error(tmp_path):
    dm = ToyData(tmp_path, augment=build_augmentation(PER_IMAGE), device_batches=True)
    with pytest.raises(
        ConfigError,
        match=r"data.device_batches=true needs .*GaussianBlur runs on the host .*device_batches=auto$",
    ):
        dm.setup("fit")


def test_auto_keeps_the_host_loader_on_a_cpu(tmp_path):
    dm = ToyData(tmp_path)
    dm.setup("fit")
    assert not isinstance(dm.train_dataloader(), DeviceBatches)
    with pytest.raises(ConfigError, match="data.device_batches='yes' must be auto, true or false"):
        ToyData(tmp_path, device_batches="yes")


@pytest.mark.slow
def test_gpu_path_options_train_on_the_cpu(run_env, tmp_path):
    """Device batches, bf16-mixed precision and a compiled network (aot_eager: the same
    capture and autograd as the default inductor backend, without its minutes of C++
    compilation on a 2-core CPU), through the real entry point."""
    out = tmp_path / "run"
    train(
        "data.size=200", "aug=on", "trainer.max_epochs=2", "logger=csv", "callbacks.pictures=null",
        "data.device_batches=true", "trainer.precision=bf16-mixed", "model.compile={backend: aot_eager}",
        f"hydra.run.dir={out}", env=run_env,
    )  # fmt: skip
    result = record(out)
    assert result["status"] == "finished" and result["optimizer_steps"] == 2 * 4
    assert result["tested_checkpoint"].startswith("checkpoints/best-epoch")  # loads into it
    assert 0.0 <= result["test_acc"] <= 1.0
