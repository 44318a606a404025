"""Batches built where the network trains: the fast path for a GPU.

Every dataset here fits in a GPU's memory as ``uint8``. Copying it there once and
slicing each batch out of it (gather, convert, normalise and warp on the device)
leaves the host nothing to do per step: no DataLoader, no per-batch copies.

The order of samples is drawn exactly as the DataLoader path draws it (one seed
draw, then ``RandomSampler`` on the datamodule's generator), and the augmentation
draws come from the same CPU generator, so on the CPU both paths give the same
batches bit for bit; ``tests/data/test_device.py`` holds them to it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import RandomSampler

from auglab.aug.batched import BatchedAugment
from auglab.errors import ConfigError


class DeviceBatches:
    """An iterable of ``(images, labels)`` batches sliced from tensors on ``device``.

    ``images`` is ``uint8`` (N, C, H, W); batches come out as float in [0, 1], as
    ``ArrayDataset`` gives them. With ``generator`` the order is shuffled each epoch
    (``num_samples`` draws, with ``replacement`` when the set is smaller), else sequential.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        generator: torch.Generator | None = None,
        num_samples: int | None = None,
        augment: BatchedAugment | None = None,
    ) -> None:
        self.images, self.labels = images, labels
        self.batch_size = batch_size
        self.generator = generator
        self.num_samples = len(labels) if num_samples is None else num_samples
        self.augment = augment

    def __len__(self) -> int:
        return math.ceil(self.num_samples / self.batch_size)

    def order(self) -> torch.Tensor:
        """This epoch's sample indices, drawn as ``DataLoader(..., generator=g)`` draws them."""
        n = len(self.labels)
        # A DataLoader draws its workers' base seed first: from its generator, or from the
        # global one when it has none (evaluation), which shifts later augmentation draws.
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        if self.generator is None:
            return torch.arange(n)
        sampler = RandomSampler(
            range(n),
            replacement=n < self.num_samples,
            num_samples=self.num_samples,
            generator=self.generator,
        )
        return torch.tensor(list(sampler), dtype=torch.int64)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = self.order().to(self.images.device)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            x = self.images[idx].to(torch.float32).div_(255.0)
            if self.augment is not None:
                x = self.augment(x)
            yield x, self.labels[idx]


def to_device(
    images_nhwc: np.ndarray, labels: torch.Tensor, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """``uint8`` (N, H, W, C) numpy images and their labels as (N, C, H, W) tensors on ``device``."""
    images = torch.from_numpy(images_nhwc).permute(0, 3, 1, 2).contiguous()
    return images.to(device), labels.to(device)


def check_device_batches(value: bool | str) -> bool | str:
    """``data.device_batches`` (True, False or "auto"), or a one-line ConfigError."""
    if value not in (True, False, "auto"):
        raise ConfigError(
            f"data.device_batches={value!r} must be auto, true or false "
            "(auto: build batches on the GPU when training on one)"
        )
    return value
