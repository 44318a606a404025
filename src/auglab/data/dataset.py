"""In-memory image arrays served a whole batch at a time.

Small-data experiments fit in RAM. Fetching a batch with one fancy-index (and
augmenting it in the same call) avoids the per-sample ``__getitem__`` + collate
path, which on a 2-core machine costs more than LeNet-5's forward pass.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import Dataset

from auglab.aug.batched import BatchedAugment, batched_augment

if TYPE_CHECKING:
    import albumentations as A

log = logging.getLogger(__name__)


class ArrayDataset(Dataset):
    """``uint8`` images (N, H, W, C) and integer labels, optionally augmented.

    ``transform`` is an albumentations pipeline (what ``build_augmentation``
    returns). When every step is an affine map or a flip it runs as one batched
    warp of the whole batch (``auglab.aug.batched``); otherwise albumentations runs
    per image. ``batched=False`` forces the per-image path, for comparisons. Both
    draw from torch's RNG, so a run is reproducible from the global seed for a
    given number of DataLoader workers.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        transform: A.Compose | None = None,
        batched: bool = True,
    ) -> None:
        if images.ndim != 4 or images.dtype != np.uint8:
            raise ValueError(
                f"expected uint8 images of shape (N, H, W, C), got {images.dtype} {images.shape}"
            )
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.batched = batched
        self.transform = transform

    @property
    def transform(self) -> A.Compose | None:
        return self._transform

    @transform.setter
    def transform(self, transform: A.Compose | None) -> None:
        self._transform = transform
        self._fast: BatchedAugment | None = None
        if transform is None:
            return
        names = ", ".join(type(t).__name__ for t in transform.transforms)
        if self.batched:
            self._fast, why_not = batched_augment(transform)
        else:
            why_not = "batched=False"
        if self._fast is not None:
            log.info("Augmentation (%s): one batched torch warp per batch", names)
        else:
            log.info("Augmentation (%s): albumentations per image, because %s", names, why_not)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.__getitems__([index])
        return x[0], y[0]

    def __getitems__(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        idx = np.asarray(indices, dtype=np.int64)
        batch = self.images[idx]
        if self._transform is not None and self._fast is None:
            self.transform.set_random_seed(int(torch.randint(2**31 - 1, ()).item()))
            batch = np.stack([self.transform(image=image)["image"] for image in batch])
            if batch.ndim == 3:  # OpenCV drops a single channel axis
                batch = batch[..., None]
        n, h, w, c = batch.shape
        # An explicit NCHW buffer: permuting a 1-channel NHWC array would hand the
        # network "channels-last" strides, which DDP's gradient buckets reject.
        x = torch.empty((n, c, h, w), dtype=torch.float32)
        x.copy_(torch.from_numpy(batch).permute(0, 3, 1, 2)).div_(255.0)
        if self._fast is not None:
            x = self._fast(x)  # grid_sample writes a fresh contiguous NCHW batch too
        return x, self.labels[torch.from_numpy(idx)]


def collate_prebatched(
    batch: tuple[torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """DataLoader ``collate_fn`` for datasets whose ``__getitems__`` already stacks."""
    return batch
