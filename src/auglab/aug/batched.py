"""The preset's geometric transforms as one batched warp, so augmentation costs ~nothing.

albumentations spends ~100 µs of Python per image; LeNet-5 trains on a 64-image
batch in ~5 ms on two CPU cores, so per-image augmentation doubles the epoch.
Affine, ShiftScaleRotate and flips are all affine maps: each image's steps are
folded into one 3x3 matrix (sampled exactly as albumentations samples them) and
the batch is resampled once with ``affine_grid`` + ``grid_sample``.

Geometry follows albumentations 2.0 (``create_affine_transformation_matrix``):
pixel centres at integer coordinates, rotation/shear/scale about
``(W/2 - 0.5, H/2 - 0.5)``, shear angle negated, ``translate_percent``
truncated to whole pixels, ``M = C T Sh R S C^-1`` mapping source to output.
``align_corners=False`` is the same pixel-centre convention; ``padding_mode``
"border" is cv2 BORDER_REPLICATE (Keras fill "nearest"), "reflection" is
BORDER_REFLECT, "zeros" is BORDER_CONSTANT with fill 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import albumentations as A
import cv2
import torch
import torch.nn.functional as F

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

    def draw(self, n: int, height: int, width: int) -> dict[str, torch.Tensor]:
        """n draws of each parameter, from the ranges as written (albumentations' sampling)."""
        scale_x = _uniform(n, self.scale_x)
        if self.translate_in_percent:  # albumentations: int(fraction * size)
            tx = torch.trunc(_uniform(n, self.translate_x) * width)
            ty = torch.trunc(_uniform(n, self.translate_y) * height)
        else:
            tx, ty = _randint(n, self.translate_x), _randint(n, self.translate_y)
        return {
            "rotate": _uniform(n, self.rotate),
            "shear_x": _uniform(n, self.shear_x),
            "shear_y": _uniform(n, self.shear_y),
            "scale_x": scale_x,
            "scale_y": scale_x if self.keep_ratio else _uniform(n, self.scale_y),
            "translate_x": tx,
            "translate_y": ty,
            "applied": torch.rand(n, dtype=torch.float64) < self.p,
        }

    def sample(self, n: int, height: int, width: int) -> torch.Tensor:
        """(n, 3, 3) float64 matrices mapping source pixel (x, y, 1) to output pixel."""
        d = self.draw(n, height, width)
        m = affine_matrix(**{k: v for k, v in d.items() if k != "applied"}, size=(height, width))
        m[~d["applied"]] = torch.eye(3, dtype=torch.float64)
        return m


def affine_matrix(
    rotate: torch.Tensor,
    shear_x: torch.Tensor,
    shear_y: torch.Tensor,
    scale_x: torch.Tensor,
    scale_y: torch.Tensor,
    translate_x: torch.Tensor,
    translate_y: torch.Tensor,
    size: tuple[int, int],
) -> torch.Tensor:
    """albumentations' ``create_affine_transformation_matrix`` for a batch of draws.

    Angles in degrees, translations in pixels, ``size`` = (H, W); returns (n, 3, 3)
    float64 source-to-output matrices ``C T Sh R S C^-1`` about the image centre.
    """
    height, width = size
    angle = torch.deg2rad(rotate)
    tan_x, tan_y = torch.tan(torch.deg2rad(-shear_x)), torch.tan(torch.deg2rad(-shear_y))
    cos, sin = torch.cos(angle), torch.sin(angle)
    # Shear @ Rotation @ Scale, written out.
    a = (cos - tan_x * sin) * scale_x
    b = (sin + tan_x * cos) * scale_y
    c = (tan_y * cos - sin) * scale_x
    d = (tan_y * sin + cos) * scale_y
    cx, cy = width / 2 - 0.5, height / 2 - 0.5
    m = _eye(len(rotate))
    m[:, 0, 0], m[:, 0, 1], m[:, 0, 2] = a, b, cx + translate_x - a * cx - b * cy
    m[:, 1, 0], m[:, 1, 1], m[:, 1, 2] = c, d, cy + translate_y - c * cx - d * cy
    return m


@dataclass(frozen=True)
class FlipStep:
    """``A.HorizontalFlip`` (axis 0, x) or ``A.VerticalFlip`` (axis 1, y)."""

    p: float
    axis: int

    def sample(self, n: int, height: int, width: int) -> torch.Tensor:
        m = _eye(n)
        flip = torch.rand(n, dtype=torch.float64) < self.p
        m[flip, self.axis, self.axis] = -1.0  # pixel i -> size - 1 - i
        m[flip, self.axis, 2] = (width, height)[self.axis] - 1.0
        return m


@dataclass(frozen=True)
class BatchedAugment:
    """A preset run on whole float batches (N, C, H, W) with torch's global RNG.

    Draws come from torch's global generator, which Lightning seeds and each
    DataLoader worker reseeds, so a run reproduces for a seed and worker count.
    """

    steps: tuple[AffineStep | FlipStep, ...]
    padding_mode: str

    def sample(self, n: int, height: int, width: int) -> torch.Tensor:
        """Each image's whole pipeline as one source-to-output matrix (n, 3, 3), float64."""
        total = _eye(n)
        for step in self.steps:
            total = step.sample(n, height, width) @ total  # later steps act on the result
        return total

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Warp ``x`` in place; images whose draw is the identity are left bit-for-bit alone."""
        n, _, height, width = x.shape
        matrices = self.sample(n, height, width)
        moved = (matrices - _eye(n)).abs().amax(dim=(1, 2)) > 1e-9
        if not bool(moved.any()):
            return x
        theta = _normalised_inverse(matrices[moved], height, width).to(x.dtype)
        grid = F.affine_grid(theta, [int(moved.sum()), *x.shape[1:]], align_corners=False)
        warped = F.grid_sample(
            x[moved], grid, mode="bilinear", padding_mode=self.padding_mode, align_corners=False
        )
        x[moved] = warped
        return x


def batched_augment(pipeline: A.Compose) -> tuple[BatchedAugment | None, str]:
    """The batched equivalent of ``pipeline``, or ``None`` and the reason there is none."""
    if type(pipeline) is not A.Compose or pipeline.p != 1.0:
        return None, f"{type(pipeline).__name__}(p={pipeline.p}) is not a plain Compose"
    steps: list[AffineStep | FlipStep] = []
    paddings = set()
    for t in pipeline.transforms:
        name = type(t).__name__
        if type(t) is A.HorizontalFlip or type(t) is A.VerticalFlip:
            steps.append(FlipStep(p=float(t.p), axis=0 if type(t) is A.HorizontalFlip else 1))
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


def _padding_mode(t: A.Affine) -> str | None:
    if t.border_mode == cv2.BORDER_CONSTANT:
        fills = t.fill if isinstance(t.fill, tuple | list) else (t.fill,)
        return "zeros" if all(f == 0 for f in fills) else None
    return _PADDING.get(t.border_mode)


def _range(value: tuple[float, float]) -> Range:
    lo, hi = value
    return float(lo), float(hi)


def _eye(n: int) -> torch.Tensor:
    return torch.eye(3, dtype=torch.float64).repeat(n, 1, 1)


def _uniform(n: int, bounds: Range) -> torch.Tensor:
    lo, hi = bounds
    if lo == hi:  # a fixed value needs no draw
        return torch.full((n,), lo, dtype=torch.float64)
    return lo + (hi - lo) * torch.rand(n, dtype=torch.float64)


def _randint(n: int, bounds: Range) -> torch.Tensor:
    lo, hi = int(bounds[0]), int(bounds[1])  # albumentations: randint(int(lo), int(hi))
    return torch.randint(lo, hi + 1, (n,)).to(torch.float64)


def _normalised_inverse(matrices: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``affine_grid``'s theta: output -> source in [-1, 1] coordinates (align_corners=False)."""
    # pixel x -> normalised u = (2x + 1) / W - 1
    norm = torch.tensor(
        [[2 / width, 0, 1 / width - 1], [0, 2 / height, 1 / height - 1], [0, 0, 1]],
        dtype=torch.float64,
    )
    theta = norm @ torch.linalg.inv(matrices) @ torch.linalg.inv(norm)
    return theta[:, :2, :]
