"""CIFAR-10 as E3 uses it: 50k train with a stratified 20% validation split, 10k test."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from torchvision.datasets import CIFAR10

from auglab.data.base import ImageDataModule, download_failed
from auglab.errors import ConfigError

FILES = tuple(name for name, _ in CIFAR10.train_list + CIFAR10.test_list) + (
    CIFAR10.meta["filename"],
)


class _LocalCIFAR10(CIFAR10):
    """torchvision's reader, checking that the files exist rather than their MD5s.

    torchvision's ``CIFAR10`` hashes every batch against the official archive on
    each construction (~170 MB), and would call any other copy "corrupted" and
    fetch the archive again. Downloads still go through the stock class, MD5s
    included; reading what is on disk reuses torchvision's own unpickling and
    CHW -> HWC layout instead of a second copy of it here.
    """

    train_list = [[name, None] for name, _ in CIFAR10.train_list]
    test_list = [[name, None] for name, _ in CIFAR10.test_list]
    meta = {**CIFAR10.meta, "md5": None}


class CIFAR10DataModule(ImageDataModule):
    """CIFAR-10 read from ``<data_dir>/cifar-10-batches-py`` (torchvision's layout).

    E3 holds out a stratified 20% of the training batches for validation with
    scikit-learn's ``random_state=20``; ``split_seed`` plays that role (a numpy
    draw, so the same sizes and balance, not sklearn's identical images) and,
    unlike ``seed``, keeps the validation images fixed across training seeds.
    """

    def __init__(
        self, data_dir: str | Path, download: bool = True, split_seed: int = 20, **kwargs
    ) -> None:
        super().__init__(data_dir, split_seed=split_seed, **kwargs)
        self.download = download

    @property
    def folder(self) -> Path:
        return self.data_dir / CIFAR10.base_folder

    def prepare_data(self) -> None:
        if not self._missing():
            return
        if not self.download:
            self._refuse("and data.download=false")
        try:
            CIFAR10(root=str(self.data_dir), train=True, download=True)
        except (OSError, RuntimeError) as err:
            self._refuse(download_failed(err))

    def read_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        if self._missing():
            self._refuse("(prepare_data() downloads it when data.download=true)")
        try:
            ds = _LocalCIFAR10(root=str(self.data_dir), train=split == "train")
        except (pickle.UnpicklingError, EOFError, KeyError, ValueError, TypeError) as err:
            raise ConfigError(
                f"cannot read the CIFAR-10 batches in {self.folder} ({type(err).__name__}: {err}): "
                "they must be the pickles of cifar-10-python.tar.gz; delete the folder and rerun "
                "with data.download=true, or copy a good one there"
            ) from None
        self.class_names = tuple(ds.classes)
        labels = np.asarray(ds.targets, dtype=np.int64)
        if labels.min() < 0 or labels.max() >= len(self.class_names):
            raise ConfigError(
                f"{self.folder} has labels outside 0-{len(self.class_names) - 1}, the classes "
                "batches.meta names: use the files of cifar-10-python.tar.gz"
            )
        return np.ascontiguousarray(ds.data), labels

    def _missing(self) -> list[str]:
        return [name for name in FILES if not (self.folder / name).is_file()]

    def _refuse(self, reason: str) -> None:
        missing = self._missing()
        which = "" if len(missing) == len(FILES) else f" (missing: {', '.join(missing)})"
        raise ConfigError(
            f"CIFAR-10 not found in {self.folder}{which} {reason}. Put {', '.join(FILES)} "
            "from cifar-10-python.tar.gz there, or set AUGLAB_DATA_DIR to the folder that "
            "holds cifar-10-batches-py/"
        ) from None
