"""Offline augmentation: expand a small training set to N augmented images once (E1's "synthetic" run)."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from auglab.aug.mix import mixes_batches
from auglab.checks import check_int
from auglab.data.dataset import ArrayDataset
from auglab.errors import ConfigError

if TYPE_CHECKING:
    import albumentations as A

log = logging.getLogger(__name__)

BATCH = 500  # images augmented per call: bounded memory, batched speed


def check_synthetic_size(size: int | None, augment: A.Compose | None) -> int | None:
    """``data.synthetic_size``, or a ConfigError when it is no count or there is nothing to
    draw the images with (no augmentation, or one that mixes labels)."""
    size = check_int(
        size,
        "data.synthetic_size",
        1,
        allow_none=True,
        hint="the number of augmented images to train on, or null for none",
    )
    if size is not None and augment is None:
        raise ConfigError(
            "data.synthetic_size needs an augmentation to draw the images with: "
            "add aug=on (or another preset), or set data.synthetic_size=null"
        )
    if size is not None and mixes_batches(augment):
        raise ConfigError(
            "data.synthetic_size saves images with their own labels, but MixUp/CutMix "
            "mix labels too: drop mixup/cutmix from aug, or set data.synthetic_size=null"
        )
    return size


def synthetic_indices(n_source: int, size: int, seed: int) -> np.ndarray:
    """Which source image each synthetic one is drawn from: seeded passes over the whole source.

    Every source image is used ``size // n_source`` or one more times, as E1's
    generator loop cycles through its images.
    """
    rng = np.random.default_rng(seed)
    passes = -(-size // n_source)
    return np.concatenate([rng.permutation(n_source) for _ in range(passes)])[:size]


def cache_key(source: ArrayDataset, size: int, seed: int) -> str:
    """Changes whenever the source images, labels, augmentation, size or seed change."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(source.images).data)
    digest.update(source.labels.numpy().tobytes())
    digest.update(f"{size}|{seed}|{describe(source.transform)}".encode())
    return digest.hexdigest()


def describe(transform: object) -> str:
    """A stable description of an augmentation pipeline (no memory addresses)."""
    return re.sub(r" at 0x[0-9a-f]+", "", repr(transform))


def expand(
    source: ArrayDataset, size: int, seed: int, cache_dir: Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``size`` augmented copies of ``source``'s images as ``uint8`` (N, H, W, C), and their labels.

    Drawn with their own seeded generator, so the training run's random stream is
    untouched; saved to ``cache_dir/synthetic_<size>.npz`` and reused by a rerun of
    the same job (the file records what it was made from and is rebuilt otherwise).
    """
    key = cache_key(source, size, seed)
    path = None if cache_dir is None else Path(cache_dir) / f"synthetic_{size}.npz"
    if path is not None and path.is_file():
        with np.load(path) as saved:
            if str(saved["key"]) == key:
                log.info("Reusing %d synthetic images from %s", size, path)
                return saved["images"], saved["labels"]
        log.info("%s was made from other data or settings: rebuilding it", path)
    picks = synthetic_indices(len(source), size, seed)
    chunks = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for start in range(0, size, BATCH):
            x, _ = source.__getitems__(picks[start : start + BATCH].tolist())
            chunks.append((x.mul(255).round_().clamp_(0, 255)).to(torch.uint8).permute(0, 2, 3, 1))
    images = torch.cat(chunks).numpy()
    labels = source.labels.numpy()[picks]
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, images=images, labels=labels, source=picks, key=key)
        tmp.replace(path)
        log.info("Saved %d synthetic images from %d real ones to %s", size, len(source), path)
    return images, labels
