"""``A.ElasticTransform`` as a batched torch warp: a smoothed random displacement field
per image, sampled as albumentations 2.0 samples it, resampled with ``grid_sample``.

Part of the batched warp (``auglab.aug.batched``): every draw comes from torch's
global CPU generator, whatever device the batch is on; only the blur and the warp run
on the batch's device.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import albumentations as A
import cv2
import numpy as np
import torch
import torch.nn.functional as F

from auglab.aug.pixel_grid import base_grid


@dataclass(frozen=True)
class ElasticStep:
    """``A.ElasticTransform``: per image, a smoothed random field of pixel displacements.

    Sampled as albumentations 2.0 samples it (``generate_displacement_fields``): noise
    uniform(-1, 1) (or standard normal divided by its largest magnitude) of shape
    (1 if ``same_dxdy`` else 2, H, W), blurred as one (2H, W) image (dx stacked above dy,
    so the vertical blur crosses from dx into dy, as cv2.GaussianBlur on the reshaped
    array does) with replicated borders, times ``alpha``. Output pixel (x, y) samples the
    input at (x + dx, y + dy), bilinearly.
    """

    p: float
    alpha: float
    sigma: float
    kernel_size: int  # cv2.GaussianBlur's: 17 for ``approximate``, else from sigma
    same_dxdy: bool
    gaussian_noise: bool  # else uniform

    @classmethod
    def of(cls, t: A.ElasticTransform) -> ElasticStep:
        return cls(
            p=float(t.p),
            alpha=float(t.alpha),
            sigma=float(t.sigma),
            kernel_size=17 if t.approximate else gaussian_kernel_size(float(t.sigma)),
            same_dxdy=bool(t.same_dxdy),
            gaussian_noise=t.noise_distribution == "gaussian",
        )

    def draw(self, n: int, height: int, width: int) -> tuple[np.ndarray, torch.Tensor]:
        """Which of ``n`` images are distorted (bool (n,)) and their noise fields, float32
        (k, 1 or 2, H, W) on the CPU, k the number distorted (none drawn when alpha is 0)."""
        applied = torch.rand((1, n), dtype=torch.float64).numpy()[0] < self.p  # as batched's draws
        if self.alpha == 0:
            applied[:] = False
        shape = (int(applied.sum()), 1 if self.same_dxdy else 2, height, width)
        if not self.gaussian_noise:
            return applied, torch.empty(shape, dtype=torch.float32).uniform_(-1.0, 1.0)
        noise = torch.randn(shape, dtype=torch.float32)
        peak = noise.abs().amax(dim=(1, 2, 3), keepdim=True)
        return applied, torch.where(peak > 1e-6, noise / peak, noise)

    def displacement(self, noise: torch.Tensor) -> torch.Tensor:
        """(k, 2, H, W) pixel displacements (dx, dy) from noise fields (k, 1 or 2, H, W):
        albumentations' ``generate_displacement_fields`` for that noise."""
        k, _, height, width = noise.shape
        return self._smoothed(noise).mul_(self.alpha).expand(k, 2, height, width)

    def grid(self, noise: torch.Tensor) -> torch.Tensor:
        """(k, H, W, 2) ``grid_sample`` grid: pixel (x, y) reads (x + dx, y + dy), normalised
        as ``align_corners=False`` does ((2 (x + dx) + 1) / W - 1), alpha folded in."""
        k, _, height, width = noise.shape
        smooth = self._smoothed(noise)
        base = base_grid(height, width, noise.device).view(height, width, 3)
        grid = torch.empty((k, height, width, 2), device=noise.device)
        torch.add(base[..., 0], smooth[:, 0], alpha=2 * self.alpha / width, out=grid[..., 0])
        torch.add(base[..., 1], smooth[:, -1], alpha=2 * self.alpha / height, out=grid[..., 1])
        return grid

    def _smoothed(self, noise: torch.Tensor) -> torch.Tensor:
        """The noise fields blurred as cv2 blurs them, as one (k, 1 or 2, H, W) tensor.

        The blur is the two 1-D Gaussian convolutions with replicated borders, each
        written as a banded (size, size) matrix (border taps folded in), so the batch's
        blur is two matmuls: ~20x faster than ``conv2d`` on one-channel images on a CPU.
        """
        k, c, height, width = noise.shape
        rows = _blur_matrix(c * height, self.kernel_size, self.sigma, noise.device)
        cols = _blur_matrix(width, self.kernel_size, self.sigma, noise.device)
        fields = torch.matmul(rows, noise.reshape(k, c * height, width))  # dx above dy
        return torch.matmul(fields, cols.T).view(k, c, height, width)

    def warp(self, x: torch.Tensor, padding_mode: str) -> torch.Tensor:
        """``x`` distorted: a new tensor, or ``x`` itself when no image is drawn to move.

        Images not distorted come back bit for bit."""
        n, _, height, width = x.shape
        applied, noise = self.draw(n, height, width)
        if not applied.any():
            return x
        grid = self.grid(noise.to(x.device)).to(x.dtype)
        if applied.all():
            return F.grid_sample(
                x, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False
            )
        moved = torch.from_numpy(np.flatnonzero(applied)).to(x.device)
        out = x.clone(memory_format=torch.contiguous_format)
        out[moved] = F.grid_sample(
            x[moved], grid, mode="bilinear", padding_mode=padding_mode, align_corners=False
        )
        return out


def gaussian_kernel_size(sigma: float) -> int:
    """cv2.GaussianBlur's kernel size for ``ksize=(0, 0)`` on float images:
    ``cvRound(8 sigma + 1) | 1`` (33 for sigma 4)."""
    return int(np.rint(sigma * 8 + 1)) | 1


@functools.lru_cache(maxsize=16)
def _blur_matrix(size: int, kernel_size: int, sigma: float, device: torch.device) -> torch.Tensor:
    """(size, size) float32 B with ``B @ v`` = v convolved with cv2's Gaussian kernel
    (``getGaussianKernel(kernel_size, sigma, CV_32F)``) under BORDER_REPLICATE."""
    kernel = cv2.getGaussianKernel(kernel_size, sigma, cv2.CV_32F)[:, 0].astype(np.float64)
    radius = kernel_size // 2
    matrix = np.zeros((size, size))
    rows = np.arange(size)
    for tap, weight in enumerate(kernel):  # output i reads input clamp(i + tap - radius)
        np.add.at(matrix, (rows, np.clip(rows + tap - radius, 0, size - 1)), weight)
    return torch.from_numpy(matrix.astype(np.float32)).to(device)
