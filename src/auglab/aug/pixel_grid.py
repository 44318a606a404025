"""Pixel centres in ``grid_sample``'s [-1, 1] coordinates, as ``affine_grid`` builds them
(``align_corners=False``): the grids the affine and the elastic warps resample on."""

from __future__ import annotations

import functools

import numpy as np
import torch


def normalised_inverse(matrices: np.ndarray, height: int, width: int) -> np.ndarray:
    """Output -> source maps in grid_sample's [-1, 1] coordinates, (n, 2, 3)."""
    # pixel x -> normalised u = (2x + 1) / W - 1 (align_corners=False: pixel centres)
    norm = np.array([[2 / width, 0, 1 / width - 1], [0, 2 / height, 1 / height - 1], [0, 0, 1]])
    theta = norm @ np.linalg.inv(matrices) @ np.linalg.inv(norm)
    return theta[:, :2, :]


@functools.lru_cache(maxsize=8)
def base_grid(height: int, width: int, device: torch.device | None = None) -> torch.Tensor:
    """(H*W, 3) normalised pixel centres (u, v, 1): ``affine_grid``'s grid, built once per device."""
    u = (2 * torch.arange(width, dtype=torch.float32) + 1) / width - 1
    v = (2 * torch.arange(height, dtype=torch.float32) + 1) / height - 1
    uu, vv = torch.meshgrid(u, v, indexing="xy")
    grid = torch.stack([uu, vv, torch.ones_like(uu)], dim=-1).reshape(height * width, 3)
    return grid.to(device)
