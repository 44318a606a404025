"""How a pipeline runs on a batch: batched warps, batched policies, per-image runs, then
batch mixing, in order.

A preset is one list of steps; ``ArrayDataset`` runs it as stages. Consecutive
affine steps, flips and ElasticTransforms become one batched torch warp
(``auglab.aug.batched``) of the float batch: matrix steps folded into one
resampling, each elastic distortion a displacement-field resampling of its own, in
order (``aug=[on,elastic]`` is one stage); consecutive RandAugment /
TrivialAugmentWide / AutoAugment steps run on the whole ``uint8`` batch, ops drawn
per image (``BatchedPolicies``, ``auglab.aug.policies``); consecutive other steps
run through albumentations one ``uint8`` image at a time; MixUp / CutMix
(``auglab.aug.mix``) run last on the whole batch. So ``aug=[on,erasing]`` warps the
batch at once and erases per image.
``plan(pipeline, batched=False)`` runs every per-sample step (policies included,
torchvision's draw for draw) per image, for comparisons.

Batched policies run on the host: ``DeviceBatches`` (GPU-resident batches) only
takes a lone batched warp, so with them ``data.device_batches=auto`` stays off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import albumentations as A
import numpy as np
import torch

from auglab.aug.batched import BatchedAugment, batched_augment
from auglab.aug.mix import BatchMix
from auglab.aug.policies import PolicyStep


class BatchedPolicies:
    """Consecutive policy steps (RandAugment, TrivialAugmentWide, AutoAugment) on whole
    ``uint8`` batches, ops drawn per image: a stage of ``ArrayDataset``
    (here), taking and giving (N, H, W, C) arrays as its per-image stage does."""

    def __init__(self, steps: Sequence[PolicyStep]) -> None:
        self.steps = tuple(steps)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        images = torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()
        for step in self.steps:
            images = step.apply_batch(images)
        return np.ascontiguousarray(images.permute(0, 2, 3, 1).numpy())

    def __repr__(self) -> str:
        return f"BatchedPolicies({', '.join(repr(t) for t in self.steps)})"


def runs_on_batches(step: A.BasicTransform) -> bool:
    """Whether ``step`` can join a ``BatchedPolicies`` stage."""
    return isinstance(step, PolicyStep)


@dataclass(frozen=True)
class Stages:
    """``steps`` in order (a ``BatchedAugment`` on float batches, ``BatchedPolicies`` on
    uint8 batches, an ``A.Compose`` per uint8 image), then ``mixers`` on the whole batch;
    ``description`` says which ran how and why."""

    steps: tuple[BatchedAugment | BatchedPolicies | A.Compose, ...]
    mixers: tuple[BatchMix, ...]
    description: str


WARP, POLICIES, PER_IMAGE = "warp", "policies", "per image"


def plan(pipeline: A.Compose, batched: bool = True) -> Stages:
    """The stages of ``pipeline``; ``batched=False`` runs every per-sample step per image."""
    if type(pipeline) is not A.Compose or pipeline.p != 1.0:
        why = f"{type(pipeline).__name__}(p={pipeline.p}) is not a plain Compose"
        return Stages((pipeline,), (), f"albumentations per image, because {why}")
    mixers = tuple(t for t in pipeline.transforms if isinstance(t, BatchMix))
    groups: list[tuple[str, list[A.BasicTransform]]] = []  # (kind, steps)
    reasons: dict[int, str] = {}  # per-image group -> why its first step is not batched
    for t in pipeline.transforms:
        if isinstance(t, BatchMix):
            continue
        if batched and runs_on_batches(t):
            kind, why = POLICIES, ""
        else:
            fast, why = batched_augment(A.Compose([t])) if batched else (None, "batched=False")
            kind = PER_IMAGE if fast is None else WARP
        if groups and groups[-1][0] == kind:
            together = groups[-1][1] + [t]
            if kind != WARP or batched_augment(A.Compose(together))[0] is not None:
                groups[-1][1].append(t)
                continue
        if kind == PER_IMAGE:
            reasons[len(groups)] = why
        groups.append((kind, [t]))
    steps: list[BatchedAugment | BatchedPolicies | A.Compose] = []
    said: list[str] = []
    for i, (kind, ts) in enumerate(groups):
        names = ", ".join(type(t).__name__ for t in ts)
        if kind == WARP:
            steps.append(batched_augment(A.Compose(ts))[0])
            said.append(f"{names} as one batched torch warp per batch")
        elif kind == POLICIES:
            steps.append(BatchedPolicies(ts))
            said.append(f"{names} on whole batches, ops drawn per image (uint8, on the host)")
        else:
            steps.append(A.Compose(ts))
            said.append(f"{names} through albumentations per image, because {reasons[i]}")
    if mixers:
        said.append(f"{', '.join(type(m).__name__ for m in mixers)} on whole batches")
    if len(said) == 1 and groups and groups[0][0] != POLICIES:  # the common cases, as before
        said = [
            "one batched torch warp per batch"
            if groups[0][0] == WARP
            else f"albumentations per image, because {reasons[0]}"
        ]
    return Stages(tuple(steps), mixers, ", then ".join(said))
