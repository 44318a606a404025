"""How a pipeline runs on a batch: batched warps, per-image runs, then batch mixing, in order.

A preset is one list of steps; ``ArrayDataset`` runs it as stages. Consecutive
affine steps and flips become one batched torch warp (``auglab.aug.batched``);
consecutive other steps run through albumentations one ``uint8`` image at a time;
MixUp / CutMix (``auglab.aug.mix``) run last on the whole batch. So
``aug=[on,erasing]`` warps the batch at once and erases per image.
"""

from __future__ import annotations

from dataclasses import dataclass

import albumentations as A

from auglab.aug.batched import BatchedAugment, batched_augment
from auglab.aug.mix import BatchMix


@dataclass(frozen=True)
class Stages:
    """``steps`` in order (a ``BatchedAugment`` on float batches, an ``A.Compose`` per uint8
    image), then ``mixers`` on the whole batch; ``description`` says which ran how and why."""

    steps: tuple[BatchedAugment | A.Compose, ...]
    mixers: tuple[BatchMix, ...]
    description: str


def plan(pipeline: A.Compose, batched: bool = True) -> Stages:
    """The stages of ``pipeline``; ``batched=False`` runs every per-sample step per image."""
    if type(pipeline) is not A.Compose or pipeline.p != 1.0:
        why = f"{type(pipeline).__name__}(p={pipeline.p}) is not a plain Compose"
        return Stages((pipeline,), (), f"albumentations per image, because {why}")
    mixers = tuple(t for t in pipeline.transforms if isinstance(t, BatchMix))
    groups: list[tuple[bool, list[A.BasicTransform]]] = []  # (batched, steps)
    reasons: dict[int, str] = {}  # per-image group -> why its first step is not batched
    for t in pipeline.transforms:
        if isinstance(t, BatchMix):
            continue
        fast, why = batched_augment(A.Compose([t])) if batched else (None, "batched=False")
        if groups and groups[-1][0] == (fast is not None):
            together = groups[-1][1] + [t]
            if fast is None or batched_augment(A.Compose(together))[0] is not None:
                groups[-1][1].append(t)
                continue
        if fast is None:
            reasons[len(groups)] = why
        groups.append((fast is not None, [t]))
    steps: list[BatchedAugment | A.Compose] = []
    said: list[str] = []
    for i, (is_batched, ts) in enumerate(groups):
        names = ", ".join(type(t).__name__ for t in ts)
        if is_batched:
            steps.append(batched_augment(A.Compose(ts))[0])
            said.append(f"{names} as one batched torch warp per batch")
        else:
            steps.append(A.Compose(ts))
            said.append(f"{names} through albumentations per image, because {reasons[i]}")
    if mixers:
        said.append(f"{', '.join(type(m).__name__ for m in mixers)} on whole batches")
    if len(said) == 1 and groups:  # the common cases, said as before
        said = [
            "one batched torch warp per batch"
            if groups[0][0]
            else f"albumentations per image, because {reasons[0]}"
        ]
    return Stages(tuple(steps), mixers, ", then ".join(said))
