"""torchvision's per-image policies as albumentations steps, so a preset can list them.

RandAugment, TrivialAugmentWide, AutoAugment and RandomErasing come from
``torchvision.transforms.v2``. On a batched tensor v2 draws ONE set of parameters
for the whole batch (pytorch/vision #8484), so each step here runs on one
``uint8`` image at a time (the per-image stage of ``ArrayDataset``) and draws from
torch's global generator: a run reproduces for a seed and DataLoader worker count.

Each step knows how ``aug.strength`` scales it (``scale_strength``) and the largest
strength it can honour; beyond that ``build_augmentation`` stops with one line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import albumentations as A
import numpy as np
import torch
from torchvision.transforms import v2

from auglab.errors import ConfigError

#: Ops whose magnitude is a factor ``1 + m`` or a signed amount: identity at m = 0.
_LINEAR = {
    "ShearX",
    "ShearY",
    "TranslateX",
    "TranslateY",
    "Rotate",
    "Brightness",
    "Color",
    "Contrast",
    "Sharpness",
}


#: Solarize's threshold (a fraction of 255) at which it inverts nothing in a uint8 image.
_SOLARIZE_OFF = 256 / 255


class TorchvisionStep(A.ImageOnlyTransform):
    """One ``torchvision.transforms.v2`` op on one HWC ``uint8`` image (albumentations' layout)."""

    def __init__(self, p: float = 1.0) -> None:
        super().__init__(p=p)

    def op(self, image: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        chw = torch.from_numpy(img.reshape(*img.shape[:2], -1)).permute(2, 0, 1)
        out = self.op(chw).permute(1, 2, 0)
        return np.ascontiguousarray(out.numpy()).reshape(img.shape)

    def scale_strength(self, strength: float, where: str) -> None:
        """Scale in place for ``aug.strength`` (never called with 1: the preset as written)."""
        raise NotImplementedError


def too_strong(where: str, strength: float, why: str, limit: float) -> ConfigError:
    """The one-line error of a strength a step cannot honour, with the largest it can."""
    return ConfigError(
        f"{where}: aug.strength={strength:g} {why}; use aug.strength <= {math.floor(limit * 100) / 100:g}"
    )


class _Scaled:
    """v2 auto-augment policies with every op's magnitude scaled about its identity.

    ``strength`` s multiplies rotation, shear, translation and the ``1 + m`` colour
    factors by s; posterize keeps ``8 - s * (8 - bits)`` bits (rounded) and solarize's
    threshold moves towards "above white" (256/255 of the range) by the same rule.
    Ops without a magnitude (AutoContrast, Equalize, Identity) happen with probability
    ``min(s, 1)``. So near strength 0 each op leaves every pixel within a grey level
    (uint8 rounding), and at s = 1 this is torchvision's policy, draw for draw.
    """

    strength: float = 1.0

    def _apply_image_or_video_transform(self, image, transform_id, magnitude, interpolation, fill):
        s = self.strength
        if s != 1.0:
            if transform_id in _LINEAR:
                magnitude *= s
            elif transform_id == "Posterize":
                magnitude = round(8 - s * (8 - magnitude))
            elif transform_id == "Solarize":
                # Identity is a threshold above 255 (uint8 inverts pixels >= it), not at it.
                magnitude = _SOLARIZE_OFF - s * (_SOLARIZE_OFF - magnitude)
                if magnitude > 1:
                    return image
            elif s < 1 and float(torch.rand(())) >= s:
                return image
        return super()._apply_image_or_video_transform(
            image, transform_id, magnitude, interpolation, fill
        )


class _ScaledRandAugment(_Scaled, v2.RandAugment):
    pass


class _ScaledTrivialAugmentWide(_Scaled, v2.TrivialAugmentWide):
    pass


class _PolicyStep(TorchvisionStep):
    """A torchvision v2 auto-augment policy as one step: it keeps the policy and its
    ``interpolation`` / ``fill``, and runs it on each image."""

    def __init__(
        self,
        policy: v2.Transform,
        interpolation: str,
        fill: float | Sequence[float] | None,
        p: float,
    ) -> None:
        super().__init__(p=p)
        self.interpolation = interpolation
        self.fill = fill
        self._op = policy

    def op(self, image: torch.Tensor) -> torch.Tensor:
        return self._op(image)


class RandAugment(_PolicyStep):
    """RandAugment (Cubuk et al. 2020): ``num_ops`` random ops per image at one magnitude.

    Strength scales the magnitude (``magnitude * strength`` on the same bins), up to
    the last bin (``num_magnitude_bins - 1``).
    """

    def __init__(
        self,
        num_ops: int = 2,
        magnitude: int = 9,
        num_magnitude_bins: int = 31,
        interpolation: str = "nearest",
        fill: float | Sequence[float] | None = None,
        p: float = 1.0,
    ) -> None:
        policy = _ScaledRandAugment(num_ops, magnitude, num_magnitude_bins, interpolation, fill)
        super().__init__(policy, interpolation, fill, p)
        self.num_ops = num_ops
        self.magnitude = magnitude
        self.num_magnitude_bins = num_magnitude_bins
        self.strength = 1.0

    def scale_strength(self, strength: float, where: str) -> None:
        top = (self.num_magnitude_bins - 1) / self.magnitude if self.magnitude else math.inf
        if strength > top:
            raise too_strong(
                where,
                strength,
                f"asks RandAugment for magnitude {self.magnitude * strength:g}, beyond its last "
                f"bin {self.num_magnitude_bins - 1}",
                top,
            )
        self.strength = self._op.strength = strength

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("num_ops", "magnitude", "num_magnitude_bins", "interpolation", "fill", "strength")


class TrivialAugmentWide(_PolicyStep):
    """TrivialAugment (Müller & Hutter 2021): one random op per image at a uniform random magnitude.

    Strength scales the widest magnitudes (the uniform draw covers ``[0, s * widest]``);
    above 1 the colour factors ``1 + m`` would turn negative, so 1 is the largest.
    """

    def __init__(
        self,
        num_magnitude_bins: int = 31,
        interpolation: str = "nearest",
        fill: float | Sequence[float] | None = None,
        p: float = 1.0,
    ) -> None:
        policy = _ScaledTrivialAugmentWide(num_magnitude_bins, interpolation, fill)
        super().__init__(policy, interpolation, fill, p)
        self.num_magnitude_bins = num_magnitude_bins
        self.strength = 1.0

    def scale_strength(self, strength: float, where: str) -> None:
        if strength > 1:
            raise too_strong(
                where, strength, "would widen TrivialAugmentWide past its widest ranges", 1.0
            )
        self.strength = self._op.strength = strength

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("num_magnitude_bins", "interpolation", "fill", "strength")


class AutoAugment(_PolicyStep):
    """AutoAugment (Cubuk et al. 2019): a learned policy (``imagenet``, ``cifar10`` or ``svhn``).

    The policy's magnitudes and probabilities were searched as a whole, so strength
    leaves them alone and is the probability that an image gets the policy at all.
    """

    def __init__(
        self,
        policy: str = "cifar10",
        interpolation: str = "nearest",
        fill: float | Sequence[float] | None = None,
        p: float = 1.0,
    ) -> None:
        super().__init__(
            v2.AutoAugment(v2.AutoAugmentPolicy(policy), interpolation, fill),
            interpolation,
            fill,
            p,
        )
        self.policy = policy

    def scale_strength(self, strength: float, where: str) -> None:
        limit = 1 / self.p
        if strength > limit:
            raise too_strong(
                where,
                strength,
                f"is AutoAugment's probability of applying its policy ({self.p:g} x strength), "
                "which cannot exceed 1",
                limit,
            )
        self.p = self.p * strength

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("policy", "interpolation", "fill")


class RandomErasing(TorchvisionStep):
    """Random erasing / cutout (Zhong et al. 2020): one rectangle per image set to ``value``.

    ``scale`` is the erased area as a fraction of the image; strength scales it,
    so ``scale * strength`` must stay within 1.
    """

    def __init__(
        self,
        scale: Sequence[float] = (0.02, 0.33),
        ratio: Sequence[float] = (0.3, 3.3),
        value: float = 0,
        p: float = 0.5,
    ) -> None:
        super().__init__(p=p)
        self.scale = tuple(float(v) for v in scale)
        self.ratio = tuple(float(v) for v in ratio)
        self.value = value
        # p=1 inside: albumentations draws whether this step runs (its ``p``).
        self._op = v2.RandomErasing(p=1.0, scale=self.scale, ratio=self.ratio, value=value)

    def op(self, image: torch.Tensor) -> torch.Tensor:
        return self._op(image)

    def scale_strength(self, strength: float, where: str) -> None:
        limit = 1 / max(self.scale)
        if strength > limit:
            raise too_strong(
                where,
                strength,
                f"would erase up to {max(self.scale) * strength:.0%} of an image "
                f"(scale {list(self.scale)} x strength)",
                limit,
            )
        self.scale = tuple(v * strength for v in self.scale)
        self._op.scale = self.scale

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("scale", "ratio", "value")
