"""The preset's geometric transforms as batched torch warps, so augmentation costs ~nothing.

albumentations spends ~100 µs of Python per image (~230 µs for ElasticTransform);
LeNet-5 trains on a 64-image batch in ~5 ms on two CPU cores, so per-image
augmentation doubles the epoch. Affine, ShiftScaleRotate and flips are all affine
maps: each image's consecutive matrix steps are folded into one 3x3 matrix
(sampled exactly as albumentations samples them) and the batch is resampled once
with ``grid_sample`` (on a grid built as ``affine_grid`` builds it, from a cached
table of pixel centres). ElasticTransform is a displacement field per image
(``auglab.aug.elastic``), resampled with ``grid_sample`` as its own warp after the
matrix steps before it: two transforms resample twice, as albumentations applies
them one after the other.

Geometry follows albumentations 2.0 (``create_affine_transformation_matrix``):
pixel centres at integer coordinates, rotation/shear/scale about
``(W/2 - 0.5, H/2 - 0.5)``, shear angle negated, ``translate_percent``
truncated to whole pixels, ``M = C T Sh R S C^-1`` mapping source to output.
``align_corners=False`` is the same pixel-centre convention; ``padding_mode``
"border" is cv2 BORDER_REPLICATE (Keras fill "nearest"), "reflection" is
BORDER_REFLECT, "zeros" is BORDER_CONSTANT with fill 0.

Every draw comes from torch's global CPU generator, whatever device the batch is
on; only the warp (and the elastic blur) runs on the batch's device.
"""

from __future__ import annotations

from dataclasses import dataclass

import albumentations as A
import cv2
import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike

from auglab.aug.elastic import ElasticStep
from auglab.aug.pixel_grid import base_grid, normalised_inverse
from auglab.aug.strength import AFFINE_FAMILY

Range = tuple[float, float]

_PADDING = {cv2.BORDER_REPLICATE: "border", cv2.BORDER_REFLECT: "reflection"}


@dataclass(frozen=True)
class AffineStep:
    """The sampling ranges of one ``A.Affine`` (or ``A.ShiftScaleRotate``)."""

    p: float
    rotate: Range
    shear_x: Range
    shear_y: Range
    scale_x: Range
    scale_y: Range
    keep_ratio: bool
    translate_x: Range
    translate_y: Range
    translate_in_percent: bool  # else whole pixels, drawn as integers

    def draw(self, n: int, height: int, width: int) -> dict[str, np.ndarray]:
        """n draws of each parameter, from the ranges as written (albumentations' sampling)."""
        u = _rand(n, 8)  # one call into torch's generator per step: cheap and reproducible
        scale_x = _uniform(u[0], self.scale_x)
        if self.translate_in_percent:  # albumentations: int(fraction * size)
            tx = np.trunc(_uniform(u[1], self.translate_x) * width)
            ty = np.trunc(_uniform(u[2], self.translate_y) * height)
        else:
            tx, ty = _randint(u[1], self.translate_x), _randint(u[2], self.translate_y)
        return {
            "rotate": _uniform(u[3], self.rotate),
            "shear_x": _uniform(u[4], self.shear_x),
            "shear_y": _uniform(u[5], self.shear_y),
            "scale_x": scale_x,
            "scale_y": scale_x if self.keep_ratio else _uniform(u[6], self.scale_y),
            "translate_x": tx,
            "translate_y": ty,
            "applied": u[7] < self.p,
        }

    def sample(self, n: int, height: int, width: int) -> np.ndarray:
        """(n, 3, 3) float64 matrices mapping source pixel (x, y, 1) to output pixel."""
        d = self.draw(n, height, width)
        applied = d.pop("applied")
        m = affine_matrix(**d, size=(height, width))
        m[~applied] = np.eye(3)
        return m


def affine_matrix(
    rotate: ArrayLike,
    shear_x: ArrayLike,
    shear_y: ArrayLike,
    scale_x: ArrayLike,
    scale_y: ArrayLike,
    translate_x: ArrayLike,
    translate_y: ArrayLike,
    size: tuple[int, int],
) -> np.ndarray:
    """albumentations' ``create_affine_transformation_matrix`` for a batch of draws.

    Angles in degrees, translations in pixels, ``size`` = (H, W); returns (n, 3, 3)
    float64 source-to-output matrices ``C T Sh R S C^-1`` about the image centre.
    """
    height, width = size
    rotate, shear_x, shear_y, scale_x, scale_y, translate_x, translate_y = (
        np.asarray(v, dtype=np.float64)
        for v in (rotate, shear_x, shear_y, scale_x, scale_y, translate_x, translate_y)
    )
    angle = np.deg2rad(rotate)
    tan_x, tan_y = np.tan(np.deg2rad(-shear_x)), np.tan(np.deg2rad(-shear_y))
    cos, sin = np.cos(angle), np.sin(angle)
    # Shear @ Rotation @ Scale, written out.
    a = (cos - tan_x * sin) * scale_x
    b = (sin + tan_x * cos) * scale_y
    c = (tan_y * cos - sin) * scale_x
    d = (tan_y * sin + cos) * scale_y
    cx, cy = width / 2 - 0.5, height / 2 - 0.5
    m = _eye(len(angle))
    m[:, 0, 0], m[:, 0, 1], m[:, 0, 2] = a, b, cx + translate_x - a * cx - b * cy
    m[:, 1, 0], m[:, 1, 1], m[:, 1, 2] = c, d, cy + translate_y - c * cx - d * cy
    return m


@dataclass(frozen=True)
class FlipStep:
    """``A.HorizontalFlip`` (axis 0, x) or ``A.VerticalFlip`` (axis 1, y)."""

    p: float
    axis: int

    def sample(self, n: int, height: int, width: int) -> np.ndarray:
        m = _eye(n)
        flip = _rand(n, 1)[0] < self.p
        m[flip, self.axis, self.axis] = -1.0  # pixel i -> size - 1 - i
        m[flip, self.axis, 2] = (width, height)[self.axis] - 1.0
        return m


@dataclass(frozen=True)
class BatchedAugment:
    """A preset run on whole float batches (N, C, H, W) with torch's global RNG.

    Draws come from torch's global generator, which Lightning seeds and each
    DataLoader worker reseeds, so a run reproduces for a seed and worker count.
    """

    steps: tuple[AffineStep | FlipStep | ElasticStep, ...]
    padding_mode: str

    def sample(self, n: int, height: int, width: int) -> np.ndarray:
        """Each image's whole pipeline as one source-to-output matrix (n, 3, 3), float64.

        Only for pipelines of matrix steps: an elastic step is no matrix (ValueError)."""
        if any(isinstance(step, ElasticStep) for step in self.steps):
            raise ValueError(
                "BatchedAugment.sample: this pipeline has an ElasticTransform step, a "
                "displacement field per image, not a matrix; call it on a batch instead"
            )
        total = _eye(n)
        for step in self.steps:
            total = step.sample(n, height, width) @ total  # later steps act on the result
        return total

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` warped, as a new contiguous (N, C, H, W) tensor (``x`` itself if nothing moves).

        Consecutive matrix steps are one warp; an elastic step is a warp of its own, in
        pipeline order. Images whose draw is the identity come back bit-for-bit, not resampled.
        """
        n, _, height, width = x.shape
        total = None  # the matrix steps since the last warp, folded
        for step in self.steps:
            if isinstance(step, ElasticStep):
                if total is not None:
                    x, total = _warp(x, total, self.padding_mode), None
                x = step.warp(x, self.padding_mode)
            else:
                m = step.sample(n, height, width)
                total = m if total is None else m @ total  # later steps act on the result
        return x if total is None else _warp(x, total, self.padding_mode)


def _warp(x: torch.Tensor, matrices: np.ndarray, padding_mode: str) -> torch.Tensor:
    """``x`` resampled by source-to-output pixel matrices (n, 3, 3); ``x`` if all are identity."""
    n, _, height, width = x.shape
    moved = np.abs(matrices - np.eye(3)).max(axis=(1, 2)) > 1e-9
    if not moved.any():
        return x
    # Draws and matrices come from the CPU generator whatever the device, so a batch
    # built on a GPU is warped exactly as the same batch on the CPU.
    theta = torch.from_numpy(normalised_inverse(matrices, height, width))
    theta = theta.to(device=x.device, dtype=x.dtype)
    grid = torch.matmul(base_grid(height, width, x.device), theta.transpose(1, 2))
    out = F.grid_sample(
        x,
        grid.view(n, height, width, 2),
        mode="bilinear",
        padding_mode=padding_mode,
        align_corners=False,
    )
    if not moved.all():  # cheaper than gathering the moved ones: few stay put
        keep = torch.from_numpy(np.flatnonzero(~moved)).to(x.device)
        out[keep] = x[keep]
    return out


def batched_augment(pipeline: A.Compose) -> tuple[BatchedAugment | None, str]:
    """The batched equivalent of ``pipeline``, or ``None`` and the reason there is none."""
    if type(pipeline) is not A.Compose or pipeline.p != 1.0:
        return None, f"{type(pipeline).__name__}(p={pipeline.p}) is not a plain Compose"
    steps: list[AffineStep | FlipStep | ElasticStep] = []
    paddings = set()
    for t in pipeline.transforms:
        name = type(t).__name__
        if type(t) is A.HorizontalFlip or type(t) is A.VerticalFlip:
            steps.append(FlipStep(p=float(t.p), axis=0 if type(t) is A.HorizontalFlip else 1))
            continue
        if type(t) is A.ElasticTransform:
            padding = _padding_mode(t)
            if padding is None:
                return None, f"{name} border_mode={t.border_mode} fill={t.fill} is not batched"
            if t.interpolation != cv2.INTER_LINEAR:
                return None, f"{name} with interpolation={t.interpolation} is not batched"
            paddings.add(padding)
            steps.append(ElasticStep.of(t))
            continue
        if type(t) not in AFFINE_FAMILY:
            return None, f"{name} has no batched equivalent"
        padding = _padding_mode(t)
        if padding is None:
            return None, f"{name} border_mode={t.border_mode} fill={t.fill} is not batched"
        if t.interpolation != cv2.INTER_LINEAR or t.fit_output or t.balanced_scale:
            return (
                None,
                f"{name} with interpolation={t.interpolation}, fit_output or balanced_scale",
            )
        paddings.add(padding)
        percent = t.translate_percent is not None
        translate = t.translate_percent if percent else t.translate_px
        steps.append(
            AffineStep(
                p=float(t.p),
                rotate=_range(t.rotate),
                shear_x=_range(t.shear["x"]),
                shear_y=_range(t.shear["y"]),
                scale_x=_range(t.scale["x"]),
                scale_y=_range(t.scale["y"]),
                keep_ratio=bool(t.keep_ratio),
                translate_x=_range(translate["x"]),
                translate_y=_range(translate["y"]),
                translate_in_percent=percent,
            )
        )
    if len(paddings) > 1:
        return None, f"the transforms fill borders differently ({sorted(paddings)})"
    return BatchedAugment(tuple(steps), paddings.pop() if paddings else "border"), ""


def _padding_mode(t: A.Affine | A.ElasticTransform) -> str | None:
    if t.border_mode == cv2.BORDER_CONSTANT:
        fills = t.fill if isinstance(t.fill, tuple | list) else (t.fill,)
        return "zeros" if all(f == 0 for f in fills) else None
    return _PADDING.get(t.border_mode)


def _range(value: tuple[float, float]) -> Range:
    lo, hi = value
    return float(lo), float(hi)


def _eye(n: int) -> np.ndarray:
    return np.tile(np.eye(3), (n, 1, 1))


def _rand(n: int, k: int) -> np.ndarray:
    """(k, n) uniforms in [0, 1) from torch's global generator."""
    return torch.rand((k, n), dtype=torch.float64).numpy()


def _uniform(u: np.ndarray, bounds: Range) -> np.ndarray:
    lo, hi = bounds
    return lo + (hi - lo) * u


def _randint(u: np.ndarray, bounds: Range) -> np.ndarray:
    lo, hi = int(bounds[0]), int(bounds[1])  # albumentations: randint(int(lo), int(hi))
    return np.minimum(lo + np.floor(u * (hi - lo + 1)), hi)
