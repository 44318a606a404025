"""torchvision's per-image policies as albumentations steps, so a preset can list them.

RandAugment, TrivialAugmentWide, AutoAugment and RandomErasing are
``torchvision.transforms.v2``'s. On a batched tensor v2 draws ONE set of parameters
for the whole batch (pytorch/vision #8484), so as albumentations steps they run on
one ``uint8`` image at a time (``batched=False``: v2's ``forward``, draw for draw).

The three auto-augment policies also run on whole batches (``apply_batch``, in a
``BatchedPolicies`` stage of ``ArrayDataset``, ``auglab.aug.stages``): for each op slot
every image draws its own op, sign and magnitude as v2's ``forward`` draws them, then
the images that drew the same (op, signed magnitude) go through the op in one call on
their ``uint8`` (N, C, H, W) sub-batch. The ops are public v2 functions
(``auglab.aug.policy_ops``), which treat leading dims as a batch and give each image
what they give it alone, so each image's distribution is v2's; only the order of the
draws differs. RandAugment then costs ~75 µs instead of ~260 µs a 32x32 image (one
thread, 64-image batches). Both paths draw from torch's global generator: a run
reproduces for a seed and DataLoader worker count.

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

from auglab.aug.policy_ops import (
    AUTOAUGMENT_SPACE,
    RANDAUGMENT_SPACE,
    TRIVIALAUGMENT_WIDE_SPACE,
    Fill,
    Op,
    Space,
    apply_grouped,
    apply_op,
    autoaugment_policies,
    scaled_op,
)
from auglab.errors import ConfigError


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


def _chosen(transform_id: str, magnitude: float, chance: float, luck: float) -> Op:
    """The op, unless it has no effect or its ``chance`` (``scaled_op``) misses ``luck``."""
    if transform_id == "Identity" or chance == 0 or (chance < 1 and luck >= chance):
        return None
    return transform_id, magnitude


class PolicyStep(TorchvisionStep):
    """An auto-augment policy as one step, with its op table (``space``), ``interpolation``
    and ``fill``: on each image (``op``, albumentations' per-image path, v2's ``forward``
    draw for draw) or on a whole batch with each image's own draw (``apply_batch``)."""

    space: Space
    strength: float = 1.0

    def __init__(self, interpolation: str, fill: Fill, p: float) -> None:
        super().__init__(p=p)
        self.interpolation = interpolation
        self.fill = fill

    def apply_scaled(
        self, image: torch.Tensor, transform_id: str, magnitude: float
    ) -> torch.Tensor:
        """One op at this step's strength (``scaled_op``), as the per-image path runs it:
        an op with a chance below 1 draws whether it runs."""
        magnitude, chance = scaled_op(transform_id, magnitude, self.strength)
        if chance == 0 or (chance < 1 and float(torch.rand(())) >= chance):
            return image
        return apply_op(image, transform_id, magnitude, self.interpolation, self.fill)

    def _random_op(self) -> tuple[str, bool]:
        """An op of ``space`` uniformly, as v2 draws it: (name, signed)."""
        names = list(self.space)
        transform_id = names[int(torch.randint(len(names), ()))]
        return transform_id, self.space[transform_id][1]

    def apply_batch(self, images: torch.Tensor) -> torch.Tensor:
        """The step on a ``uint8`` (N, C, H, W) batch, each image drawing for itself:
        whether the step runs (``p``, as albumentations draws it), then its ops slot by
        slot (``draw_batch``); one v2 call per distinct (op, signed magnitude) of a slot."""
        n = len(images)
        if n == 0:
            return images
        runs = (torch.rand(n) < self.p).tolist() if self.p < 1 else None
        for ops in self.draw_batch(n, *images.shape[-2:]):
            if runs is not None:
                ops = [op if run else None for op, run in zip(ops, runs, strict=True)]
            images = apply_grouped(images, ops, self.interpolation, self.fill)
        return images

    def draw_batch(self, n: int, height: int, width: int) -> list[list[Op]]:
        """For each op slot, the op each of ``n`` images of ``height`` x ``width`` draws."""
        raise NotImplementedError

    def _magnitudes(self, num_bins: int, height: int, width: int) -> dict[str, list[float] | None]:
        """v2's magnitude bins of each op of the policy's augmentation space (kept per size)."""
        cache = self.__dict__.setdefault("_bins", {})
        table = cache.get((num_bins, height, width))
        if table is None:
            table = {}
            for transform_id, (magnitudes_fn, _) in self.space.items():
                bins = magnitudes_fn(num_bins, height, width)
                table[transform_id] = None if bins is None else [float(m) for m in bins]
            cache[(num_bins, height, width)] = table
        return table


class RandAugment(PolicyStep):
    """RandAugment (Cubuk et al. 2020): ``num_ops`` random ops per image at one magnitude.

    Strength scales the magnitude (``magnitude * strength`` on the same bins), up to
    the last bin (``num_magnitude_bins - 1``).
    """

    space = RANDAUGMENT_SPACE

    def __init__(
        self,
        num_ops: int = 2,
        magnitude: int = 9,
        num_magnitude_bins: int = 31,
        interpolation: str = "nearest",
        fill: float | Sequence[float] | None = None,
        p: float = 1.0,
    ) -> None:
        super().__init__(interpolation, fill, p)
        if not isinstance(num_ops, int) or num_ops < 0:  # as v2.RandAugment refuses it
            raise ValueError(
                f"num_ops should be a non-negative integer, but got {num_ops} instead."
            )
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
        self.strength = strength

    def op(self, image: torch.Tensor) -> torch.Tensor:
        """``v2.RandAugment.forward``: per slot an op, its sign if signed, then the op."""
        table = self._magnitudes(self.num_magnitude_bins, *image.shape[-2:])
        for _ in range(self.num_ops):
            transform_id, signed = self._random_op()
            bins = table[transform_id]
            magnitude = 0.0
            if bins is not None:
                magnitude = bins[self.magnitude]
                if signed and torch.rand(()) <= 0.5:
                    magnitude = -magnitude
            image = self.apply_scaled(image, transform_id, magnitude)
        return image

    def draw_batch(self, n: int, height: int, width: int) -> list[list[Op]]:
        """As ``v2.RandAugment.forward`` per image: per slot an op uniformly from the 14, its
        magnitude bin ``magnitude``, negated with probability 0.5 if signed, then scaled."""
        space = self.space
        names = list(space)
        table = self._magnitudes(self.num_magnitude_bins, height, width)
        # Per op, (unsigned, negated): each (magnitude, chance) after strength.
        options = []
        for transform_id in names:
            bins, signed = table[transform_id], space[transform_id][1]
            m = 0.0 if bins is None else bins[self.magnitude]
            plus = scaled_op(transform_id, m, self.strength)
            options.append((plus, scaled_op(transform_id, -m, self.strength) if signed else plus))
        slots = []
        for _ in range(self.num_ops):
            ops = torch.randint(len(names), (n,)).tolist()
            negated = (torch.rand(n) <= 0.5).tolist()
            luck = torch.rand(n).tolist()
            slots.append(
                [
                    _chosen(names[k], *options[k][neg], lucky)
                    for k, neg, lucky in zip(ops, negated, luck, strict=True)
                ]
            )
        return slots

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("num_ops", "magnitude", "num_magnitude_bins", "interpolation", "fill", "strength")


class TrivialAugmentWide(PolicyStep):
    """TrivialAugment (Müller & Hutter 2021): one random op per image at a uniform random magnitude.

    Strength scales the widest magnitudes (the uniform draw covers ``[0, s * widest]``);
    above 1 the colour factors ``1 + m`` would turn negative, so 1 is the largest.
    """

    space = TRIVIALAUGMENT_WIDE_SPACE

    def __init__(
        self,
        num_magnitude_bins: int = 31,
        interpolation: str = "nearest",
        fill: float | Sequence[float] | None = None,
        p: float = 1.0,
    ) -> None:
        super().__init__(interpolation, fill, p)
        self.num_magnitude_bins = num_magnitude_bins
        self.strength = 1.0

    def scale_strength(self, strength: float, where: str) -> None:
        if strength > 1:
            raise too_strong(
                where, strength, "would widen TrivialAugmentWide past its widest ranges", 1.0
            )
        self.strength = strength

    def op(self, image: torch.Tensor) -> torch.Tensor:
        """``v2.TrivialAugmentWide.forward``: an op, a bin, its sign if signed, the op."""
        transform_id, signed = self._random_op()
        bins = self._magnitudes(self.num_magnitude_bins, *image.shape[-2:])[transform_id]
        magnitude = 0.0
        if bins is not None:
            magnitude = bins[int(torch.randint(self.num_magnitude_bins, ()))]
            if signed and torch.rand(()) <= 0.5:
                magnitude = -magnitude
        return self.apply_scaled(image, transform_id, magnitude)

    def draw_batch(self, n: int, height: int, width: int) -> list[list[Op]]:
        """As ``v2.TrivialAugmentWide.forward`` per image: an op uniformly from the 14, a
        magnitude bin uniformly, negated with probability 0.5 if signed, then scaled."""
        space = self.space
        names = list(space)
        table = self._magnitudes(self.num_magnitude_bins, height, width)
        ops = torch.randint(len(names), (n,)).tolist()
        bins = torch.randint(self.num_magnitude_bins, (n,)).tolist()
        negated = (torch.rand(n) <= 0.5).tolist()
        luck = torch.rand(n).tolist()
        slot = []
        for k, b, neg, lucky in zip(ops, bins, negated, luck, strict=True):
            transform_id = names[k]
            magnitudes, signed = table[transform_id], space[transform_id][1]
            m = 0.0 if magnitudes is None else magnitudes[b]
            if signed and neg:
                m = -m
            slot.append(_chosen(transform_id, *scaled_op(transform_id, m, self.strength), lucky))
        return [slot]

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("num_magnitude_bins", "interpolation", "fill", "strength")


class AutoAugment(PolicyStep):
    """AutoAugment (Cubuk et al. 2019): a learned policy (``imagenet``, ``cifar10`` or ``svhn``).

    The policy's magnitudes and probabilities were searched as a whole, so strength
    leaves them alone and is the probability that an image gets the policy at all.
    """

    space = AUTOAUGMENT_SPACE

    def __init__(
        self,
        policy: str = "cifar10",
        interpolation: str = "nearest",
        fill: float | Sequence[float] | None = None,
        p: float = 1.0,
    ) -> None:
        super().__init__(interpolation, fill, p)
        self.policy = policy
        self.sub_policies = autoaugment_policies(policy)

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

    def op(self, image: torch.Tensor) -> torch.Tensor:
        """``v2.AutoAugment.forward``: a sub-policy, then each op if its probability draw
        says so, with its sign if signed."""
        table = self._magnitudes(10, *image.shape[-2:])
        sub_policy = self.sub_policies[int(torch.randint(len(self.sub_policies), ()))]
        for transform_id, probability, magnitude_idx in sub_policy:
            if not torch.rand(()) <= probability:
                continue
            bins, magnitude = table[transform_id], 0.0
            if bins is not None:
                magnitude = bins[magnitude_idx]
                if self.space[transform_id][1] and torch.rand(()) <= 0.5:
                    magnitude = -magnitude
            image = apply_op(image, transform_id, magnitude, self.interpolation, self.fill)
        return image

    def draw_batch(self, n: int, height: int, width: int) -> list[list[Op]]:
        """As ``v2.AutoAugment.forward`` per image: a sub-policy uniformly, then each of its
        two ops with its probability at its magnitude bin (of 10), negated with probability
        0.5 if signed. Slot j is the j-th op of each image's sub-policy."""
        policies, space = self.sub_policies, self.space
        table = self._magnitudes(10, height, width)
        chosen = torch.randint(len(policies), (n,)).tolist()
        slots = []
        for j in range(2):
            runs = torch.rand(n).tolist()
            negated = (torch.rand(n) <= 0.5).tolist()
            slot: list[Op] = []
            for k, run, neg in zip(chosen, runs, negated, strict=True):
                transform_id, probability, magnitude_idx = policies[k][j]
                magnitudes, signed = table[transform_id], space[transform_id][1]
                m = 0.0 if magnitudes is None else magnitudes[magnitude_idx]
                if magnitudes is not None and signed and neg:
                    m = -m
                slot.append(_chosen(transform_id, m, 1.0, 0.0) if run <= probability else None)
            slots.append(slot)
        return slots

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
