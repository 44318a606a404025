"""MNIST-C's released files (Mu & Gilmer 2019, zenodo.org/record/3237938), where present.

Why: the released images are the benchmark others report on; when they are in the data
dir an evaluation should use them rather than regenerate, and say which it used. The
release's layout is ``<data dir>/mnist_c/<corruption>/{train,test}_{images,labels}.npy``,
images (N, 28, 28, 1) uint8 like MNIST's test split here, labels (N,).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from auglab.errors import ConfigError
from auglab.shift.registry import CORRUPTIONS

#: Folder under the data dir, as the release unpacks.
FOLDER = "mnist_c"
#: The release's folders: the 15 corruptions and ``identity`` (MNIST itself).
NAMES = ("identity", *CORRUPTIONS)
SPLITS = ("train", "test")


def files(data_dir: str | Path, name: str, split: str = "test") -> tuple[Path, Path]:
    """(images, labels) paths of one corruption's split, whether or not they exist."""
    if name not in NAMES:
        raise ConfigError(f"MNIST-C has no corruption {name!r}: choose from {', '.join(NAMES)}")
    if split not in SPLITS:
        raise ConfigError(f"MNIST-C split {split!r} must be train or test")
    folder = Path(data_dir) / FOLDER / name
    return folder / f"{split}_images.npy", folder / f"{split}_labels.npy"


def available(
    data_dir: str | Path, names: Iterable[str] | None = None, split: str = "test"
) -> list[str]:
    """Which of ``names`` (default: the 15 corruptions) have both files of ``split``."""
    wanted = list(CORRUPTIONS) if names is None else list(names)
    return [name for name in wanted if all(p.is_file() for p in files(data_dir, name, split))]


def load(data_dir: str | Path, name: str, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """One corruption's released images (N, 28, 28, 1) uint8 and labels, as stored."""
    images_path, labels_path = files(data_dir, name, split)
    for path in (images_path, labels_path):
        if not path.is_file():
            raise ConfigError(
                f"no MNIST-C file {path}: unpack mnist_c.zip (zenodo.org/record/3237938) "
                f"into {Path(data_dir)}, or corrupt MNIST's test set with auglab.shift.corrupt"
            )
    try:
        images = np.load(images_path, allow_pickle=False)
        labels = np.load(labels_path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ConfigError(
            f"cannot read MNIST-C {name} from {images_path.parent} ({err}): replace the files "
            "with intact copies"
        ) from err
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise ConfigError(
            f"{images_path} holds {images.dtype} {images.shape}, not MNIST-C's uint8 "
            "(N, 28, 28, 1) images"
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise ConfigError(
            f"{labels_path} holds labels of shape {labels.shape} for {len(images)} images"
        )
    return images, labels
