"""ArrayDataset serves whole float batches and augments them, batched when it can."""

from __future__ import annotations

import logging

import albumentations as A
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

from auglab.aug import build_augmentation
from auglab.data.dataset import ArrayDataset, collate_prebatched
from tests.helpers import REPO


def images_and_labels(n: int = 40, size: int = 32, channels: int = 1):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 60, size=(n, size, size, channels)).astype(np.uint8)
    images[:, 6:26, 8:13] = 250  # an asymmetric stroke, so every warp shows
    images[:, 21:26, 8:22] = 180
    return images, rng.integers(0, 10, size=n)


def preset(name: str, **changes) -> A.Compose | None:
    cfg = OmegaConf.load(REPO / "conf" / "aug" / f"{name}.yaml")
    if "defaults" in cfg:  # light/strong build on on.yaml through Hydra's defaults list
        base = OmegaConf.load(REPO / "conf" / "aug" / "on.yaml")
        cfg = OmegaConf.merge(base, {k: v for k, v in cfg.items() if k != "defaults"})
    return build_augmentation(OmegaConf.merge(cfg, changes))


def test_a_batch_is_float_nchw_in_0_1_with_its_labels():
    images, labels = images_and_labels(channels=3)
    ds = ArrayDataset(images, labels)
    x, y = ds.__getitems__([3, 0, 3])
    assert x.shape == (3, 3, 32, 32) and x.dtype == torch.float32
    assert torch.equal(x[1], torch.from_numpy(images[0]).permute(2, 0, 1).float() / 255)
    assert y.tolist() == [labels[3], labels[0], labels[3]]
    assert ds.transform is None and len(ds) == 40


@pytest.mark.parametrize("name", ["on", "e3"])
def test_augmented_batches_keep_plain_nchw_strides_for_ddp(name):
    images, labels = images_and_labels()
    x, _ = ArrayDataset(images, labels, transform=preset(name)).__getitems__(list(range(8)))
    assert x.stride() == torch.empty(x.shape).stride()
    assert x.min() >= 0.0 and x.max() <= 1.0


def test_uint8_nhwc_images_and_matching_labels_are_required():
    images, labels = images_and_labels()
    with pytest.raises(ValueError, match="uint8"):
        ArrayDataset(images.astype(np.float32), labels)
    with pytest.raises(ValueError, match="labels"):
        ArrayDataset(images, labels[:-1])


@pytest.mark.parametrize("name", ["on", "light", "strong", "e2", "e3", "e4"])
def test_geometric_presets_run_batched_and_say_so(caplog, name):
    images, labels = images_and_labels()
    with caplog.at_level(logging.INFO, logger="auglab.data.dataset"):
        ArrayDataset(images, labels, transform=preset(name))
    assert "one batched torch warp per batch" in caplog.text


def test_other_transforms_run_per_image_through_albumentations_and_say_why(caplog):
    images, labels = images_and_labels()
    pipeline = A.Compose([A.Affine(rotate=(-10, 10), p=1.0), A.RandomBrightnessContrast(p=1.0)])
    with caplog.at_level(logging.INFO, logger="auglab.data.dataset"):
        ds = ArrayDataset(images, labels, transform=pipeline)
    assert "albumentations per image" in caplog.text
    assert "RandomBrightnessContrast has no batched equivalent" in caplog.text
    x, _ = ds.__getitems__([0, 1])
    assert x.shape == (2, 1, 32, 32)
    assert not torch.equal(x, ArrayDataset(images, labels).__getitems__([0, 1])[0])


@pytest.mark.parametrize("name", ["off", "on", "light", "strong", "e2", "e3", "e4"])
def test_strength_zero_returns_the_images_exactly(name):
    images, labels = images_and_labels()
    plain, _ = ArrayDataset(images, labels).__getitems__(list(range(16)))
    augment = preset(name, strength=0.0)
    zero, _ = ArrayDataset(images, labels, transform=augment).__getitems__(list(range(16)))
    assert torch.equal(zero, plain)


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "per-image"])
def test_the_same_torch_seed_gives_the_same_augmented_batches(batched):
    images, labels = images_and_labels()

    def two_batches(seed: int) -> torch.Tensor:
        torch.manual_seed(seed)
        ds = ArrayDataset(images, labels, transform=preset("e3"), batched=batched)
        return torch.cat([ds.__getitems__(list(range(16)))[0] for _ in range(2)])

    first = two_batches(0)
    assert torch.equal(first, two_batches(0))
    assert not torch.equal(first, two_batches(1))
    assert not torch.equal(first[:16], first[16:])  # each batch draws anew


def test_a_run_with_a_dataloader_worker_reproduces_for_the_same_seed():
    images, labels = images_and_labels()
    ds = ArrayDataset(images, labels, transform=preset("on"))

    def epoch(seed: int) -> torch.Tensor:
        torch.manual_seed(seed)
        loader = DataLoader(
            ds, batch_size=8, shuffle=True, num_workers=1, collate_fn=collate_prebatched
        )
        return torch.cat([x for x, _ in loader])

    assert torch.equal(epoch(3), epoch(3))
    assert not torch.equal(epoch(3), epoch(4))


def test_repeating_an_index_draws_different_augmentations_of_that_image():
    images, labels = images_and_labels()
    x, y = ArrayDataset(images, labels, transform=preset("on")).__getitems__([5] * 6)
    assert len({tuple(img.flatten().tolist()) for img in x}) == 6
    assert set(y.tolist()) == {labels[5]}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["on", "e3"])
def test_batched_and_per_image_paths_draw_the_same_distribution(name):
    """The mean of many augmentations of one image agrees between the two paths."""
    images, labels = images_and_labels(n=1)
    torch.manual_seed(0)
    means = []
    for batched in (True, False):
        ds = ArrayDataset(images, labels, transform=preset(name), batched=batched)
        draws = torch.cat([ds.__getitems__([0] * 500)[0] for _ in range(4)])
        means.append(draws.mean(dim=0) * 255)
    plain = torch.from_numpy(images[0]).permute(2, 0, 1).float()
    assert (means[0] - means[1]).abs().mean() < 2.0  # grey levels; sampling noise ~0.5
    assert (means[0] - plain).abs().mean() > 10.0  # while augmentation moves things a lot
