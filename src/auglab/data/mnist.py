"""MNIST as E1 uses it: official file order, fixed tail validation, padded for LeNet-5.

``data.val_size=5000`` (the default) is that tail; another count draws a stratified
validation set from all 60,000 train images, seeded by ``split_seed`` or 0 (``validation_seed``).
"""

from __future__ import annotations

import gzip
import os
import shutil
import zlib
from pathlib import Path

import numpy as np
from torchvision.datasets import MNIST

from auglab.data.base import ImageDataModule, download_failed
from auglab.errors import ConfigError, one_line

TRAIN_IMAGES = 60_000
TRAIN_POOL = 55_000  # train[55000:60000] is E1's validation set, data.val_size=5000
RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """A uint8 IDX file (LeCun's MNIST format) as an array, without a copy.

    Reading it directly takes a few milliseconds, against ~0.1 s a split through
    torchvision's reader, which every job of a sweep pays.
    """
    data = np.fromfile(path, dtype=np.uint8)
    magic = int.from_bytes(data[:4].tobytes(), "big") if len(data) >= 4 else -1
    if magic != 0x0800 + ndim:
        raise ValueError(f"{path.name} is not a {ndim}-d uint8 IDX file (magic {magic:#x})")
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i].tobytes(), "big") for i in range(ndim))
    if len(data) != header + int(np.prod(shape)):
        raise ValueError(
            f"{path.name} holds {len(data) - header} bytes of data where its header says "
            f"{'x'.join(map(str, shape))} ({int(np.prod(shape))} bytes): truncated or damaged"
        )
    return data[header:].reshape(shape)


class MNISTDataModule(ImageDataModule):
    """MNIST read through ``torchvision.datasets.MNIST(root=data_dir, download=True)``."""

    class_names = tuple(str(d) for d in range(10))
    # E1 (REFERENCE.md): sizes 100 / 1000 / 10000 are these slices of the train set.
    reference_slices = {100: (0, 100), 1000: (550, 1550), 10000: (6550, 16550)}
    mnist_c_release = True
    # data.val_size=5000 (the default) is E1's tail, not a draw; other counts draw from all.
    default_val_size = TRAIN_IMAGES - TRAIN_POOL

    def __init__(
        self, data_dir: str | Path, download: bool = True, pad_to: int | None = 32, **kwargs
    ) -> None:
        super().__init__(data_dir, pad_to=pad_to, **kwargs)
        self.download = download
        drawn = self.val_size_setting if isinstance(self.val_size_setting, int) else None
        if drawn is None:
            pool = TRAIN_IMAGES if self.val_from_test else TRAIN_POOL
            why = "the last 5,000 validate unless data.val_from_test=true"
        else:
            pool, why = TRAIN_IMAGES - drawn, f"data.val_size={drawn} validate"
        if isinstance(self.size, int) and self.size > pool:
            raise ConfigError(
                f"data.size={self.size} is larger than the {max(pool, 0)} MNIST training images "
                f"({why}): use data.size<={max(pool, 0)} or a smaller data.val_size, "
                "or data.size=null for all"
            )

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "MNIST" / "raw"

    def prepare_data(self) -> None:
        self._extract_local_archives()
        if all((self.raw_dir / name).exists() for name in RAW_FILES):
            return  # torchvision would read the whole train file just to say it is there
        try:
            MNIST(root=str(self.data_dir), train=True, download=self.download)
        except RuntimeError as err:
            reason = download_failed(err) if self.download else "and data.download=false"
            raise ConfigError(
                f"MNIST not found in {self.raw_dir} {reason}. Put train-images-idx3-ubyte.gz, "
                "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz "
                "there, or set AUGLAB_DATA_DIR to the folder that holds MNIST/raw/"
            ) from None

    def read_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        prefix = "train" if split == "train" else "t10k"
        images = read_idx(self.raw_dir / f"{prefix}-images-idx3-ubyte", ndim=3)
        labels = read_idx(self.raw_dir / f"{prefix}-labels-idx1-ubyte", ndim=1)
        if len(images) != len(labels):
            raise ValueError(f"{prefix} files hold {len(images)} images but {len(labels)} labels")
        return images[..., None], labels.astype(np.int64)

    def validation_seed(self) -> int:
        """A drawn ``data.val_size`` is the same for every seed, as E1's split is:
        ``split_seed`` (``+data.split_seed=N``), or 0 without one."""
        return 0 if self.split_seed is None else self.split_seed

    def validation_split(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(labels) <= TRAIN_POOL:
            raise ConfigError(
                f"MNIST train file in {self.raw_dir} has {len(labels)} images; E1's split needs 60,000"
            )
        return np.arange(TRAIN_POOL), np.arange(TRAIN_POOL, len(labels))

    def _extract_local_archives(self) -> None:
        """Unpack .gz files already on disk, so torchvision never re-downloads them.

        torchvision checks archives against the official MD5s and would otherwise try
        the network for any other IDX files (a local copy, a test fixture).
        """
        for name in RAW_FILES:
            archive = self.raw_dir / f"{name}.gz"
            if archive.exists() and not (self.raw_dir / name).exists():
                target = self.raw_dir / name
                try:
                    # A name of this process's own: parallel jobs may unpack the same file.
                    part = Path(f"{target}.part{os.getpid()}")
                    with gzip.open(archive) as src, open(part, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    part.replace(target)  # never half an unpacked file
                except PermissionError as err:
                    raise ConfigError(
                        f"cannot unpack {archive} ({err.strerror}): copy the MNIST folder somewhere writable "
                        "and set AUGLAB_DATA_DIR to it"
                    ) from None
                except (OSError, EOFError, zlib.error) as err:
                    part.unlink(missing_ok=True)
                    raise ConfigError(
                        f"{archive} is damaged ({one_line(err)}): replace it with an intact copy, "
                        "or delete it and run with data.download=true"
                    ) from None
