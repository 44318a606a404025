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

from auglab.aug.batched import BatchedAugment
from auglab.aug.mix import mix_batch
from auglab.aug.stages import BatchedPolicies, Stages, plan

if TYPE_CHECKING:
    import albumentations as A

log = logging.getLogger(__name__)


class ArrayDataset(Dataset):
    """``uint8`` images (N, H, W, C) and integer labels, optionally augmented.

    ``transform`` is an albumentations pipeline (what ``build_augmentation``
    returns), run in stages (``auglab.aug.stages``): affine maps, flips and elastic
    distortion as batched warps of the whole batch (``auglab.aug.batched``), RandAugment /
    TrivialAugmentWide / AutoAugment on the whole uint8 batch with ops drawn per image
    (``auglab.aug.policies``), other steps through albumentations per image,
    MixUp/CutMix last on the whole batch.
    ``batched=False`` forces the per-image path, for comparisons. All draw from
    torch's RNG, so a run is reproducible from the global seed for a given number
    of DataLoader workers.

    A batch is ``(x, y)``; with MixUp/CutMix it is ``(x, y, weights)``, ``weights[i, j]``
    the share of image j in input i (``auglab.aug.mix``), ``y`` still each image's label.
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
        self._fast: BatchedAugment | None = None  # set when one batched warp is the whole of it
        self._stages = Stages((), (), "")
        if transform is None:
            return
        names = ", ".join(type(t).__name__ for t in transform.transforms)
        self._stages = plan(transform, batched=self.batched)
        only = self._stages.steps[0] if len(self._stages.steps) == 1 else None
        if isinstance(only, BatchedAugment) and not self._stages.mixers:
            self._fast = only
        log.info("Augmentation (%s): %s", names, self._stages.description)

    @property
    def stages(self) -> Stages:
        """How ``transform`` runs: batched warps, per-image runs, batch mixers, and why."""
        return self._stages

    @property
    def batched_augment(self) -> BatchedAugment | None:
        """The batched warp that stands in for ``transform``; None without one (or none needed)."""
        return self._fast

    @property
    def augments_per_image(self) -> bool:
        return self._transform is not None and self._fast is None

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.__getitems__([index])[:2]
        return x[0], y[0]

    def __getitems__(self, indices: Sequence[int]) -> tuple[torch.Tensor, ...]:
        idx = np.asarray(indices, dtype=np.int64)
        batch: np.ndarray | torch.Tensor = self.images[idx]
        for step in self._stages.steps:
            if isinstance(step, BatchedAugment):
                batch = step(_as_float(batch))  # grid_sample writes a fresh contiguous NCHW batch
            elif isinstance(step, BatchedPolicies):
                batch = step(_as_uint8(batch))  # uint8 NHWC in and out, ops drawn per image
            else:
                batch = _per_image(step, _as_uint8(batch))
        x, y = _as_float(batch), self.labels[torch.from_numpy(idx)]
        if self._stages.mixers:
            x, weights = mix_batch(self._stages.mixers, x)
            return x, y, weights
        return x, y

    def augmented_views(self, index: int, n: int) -> torch.Tensor:
        """``n`` augmented draws of image ``index`` as training sees it (N, C, H, W): with
        MixUp/CutMix each mixed with another image of the set, drawn at random."""
        if not self._stages.mixers or len(self) < 2:
            return self.__getitems__([index] * n)[0]
        views = []
        for _ in range(n):
            other = (index + 1 + int(torch.randint(len(self) - 1, ()))) % len(self)
            views.append(self.__getitems__([other, index])[0][1])  # index mixed with other
        return torch.stack(views)


def _as_float(batch: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 NHWC arrays as float NCHW in [0, 1]; float batches as they are."""
    if isinstance(batch, torch.Tensor):
        return batch
    n, h, w, c = batch.shape
    # An explicit NCHW buffer: permuting a 1-channel NHWC array would hand the
    # network "channels-last" strides, which DDP's gradient buckets reject.
    x = torch.empty((n, c, h, w), dtype=torch.float32)
    return x.copy_(torch.from_numpy(batch).permute(0, 3, 1, 2)).div_(255.0)


def _as_uint8(batch: np.ndarray | torch.Tensor) -> np.ndarray:
    """A warped float batch back to uint8 NHWC for per-image steps (albumentations rounds too)."""
    if isinstance(batch, np.ndarray):
        return batch
    return batch.mul(255).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _per_image(pipeline: A.Compose, batch: np.ndarray) -> np.ndarray:
    pipeline.set_random_seed(int(torch.randint(2**31 - 1, ()).item()))
    batch = np.stack([pipeline(image=image)["image"] for image in batch])
    if batch.ndim == 3:  # OpenCV drops a single channel axis
        batch = batch[..., None]
    return batch


def collate_prebatched(
    batch: tuple[torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """DataLoader ``collate_fn`` for datasets whose ``__getitems__`` already stacks."""
    return batch
