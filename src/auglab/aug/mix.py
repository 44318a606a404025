"""MixUp and CutMix: steps that mix whole training batches, and so their labels.

They run last, on the whole float batch ``ArrayDataset`` has built (after every
per-image step), through ``torchvision.transforms.v2``'s MixUp / CutMix: one
mixing weight (and, for CutMix, one box) per batch, each image mixed with its
neighbour in the shuffled batch, all drawn from torch's global generator.

What the mix did travels with the batch as a matrix rather than as soft labels:
``weights[i, j]`` is how much of image j went into input i (each row sums to 1).
The dataset never needs the class count; the model's loss target is
``weights @ one_hot(y)`` (``ImageClassifier.training_step``), and accuracy stays on
each image's own label ``y``.
"""

from __future__ import annotations

from typing import Any

import albumentations as A
import numpy as np
import torch
from torchvision.transforms import v2

from auglab.errors import ConfigError


class BatchMix(A.ImageOnlyTransform):
    """A step on whole batches; listed in a preset like any other, run after all of them."""

    _mixer: type[v2.Transform]

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__(p=1.0)
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not alpha > 0:
            raise ConfigError(
                f"{type(self).__name__} alpha={alpha!r} must be a number > 0, e.g. 1.0"
            )
        self.alpha = float(alpha)
        self._op = self._mixer(alpha=self.alpha)

    def mix(self, x: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` (N, C, H, W) floats mixed, and ``weights`` (N, N) updated to say how."""
        return self._op(x, weights)

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        raise TypeError(f"{type(self).__name__} mixes whole batches: run it through ArrayDataset")

    def scale_strength(self, strength: float, where: str) -> None:
        """Strength scales alpha: towards 0 the Beta(alpha, alpha) weight piles up at 0 and 1
        (each input is one image, as without mixing); larger alpha mixes closer to half-half."""
        self.alpha *= strength
        self._op = self._mixer(alpha=self.alpha)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("alpha",)


class MixUp(BatchMix):
    """MixUp (Zhang et al. 2018): input ``lam * x_i + (1 - lam) * x_j``, lam ~ Beta(alpha, alpha)."""

    _mixer = v2.MixUp


class CutMix(BatchMix):
    """CutMix (Yun et al. 2019): a box of x_j pasted into x_i; weights are the areas."""

    _mixer = v2.CutMix


def mix_batch(mixers: tuple[BatchMix, ...], x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` through every mixer in turn, and the (N, N) weights of the whole mix."""
    weights = torch.eye(len(x), dtype=x.dtype)
    for mixer in mixers:
        x, weights = mixer.mix(x, weights)
    return x, weights


def mixes_batches(pipeline: A.Compose | None) -> bool:
    """Whether ``pipeline`` (what ``build_augmentation`` returns) mixes batches and labels."""
    return pipeline is not None and any(isinstance(t, BatchMix) for t in pipeline.transforms)
