"""A minimal in-memory dataset on the base datamodule: tests of shared behaviour need no files."""

from __future__ import annotations

import numpy as np

from auglab.data.base import ImageDataModule


class ToyData(ImageDataModule):
    """300 train (the last 50 validate) / 50 test 16x16 images; image i carries i in its first pixel."""

    class_names = ("a", "b", "c")

    def read_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        n = 300 if split == "train" else 50
        rng = np.random.default_rng(0 if split == "train" else 1)
        images = rng.integers(0, 256, size=(n, 16, 16, 1), dtype=np.uint8)
        images[:, 0, 0, 0] = np.arange(n) % 256
        return images, np.arange(n) % 3

    def validation_split(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.arange(250), np.arange(250, 300)
