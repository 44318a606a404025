"""Kaggle's digit-recogniser ``train.csv`` as E2 uses it: one seeded random 60/20/20 split."""

from __future__ import annotations

import csv
import warnings
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import numpy as np

from auglab.checks import check_fraction
from auglab.data.base import ImageDataModule
from auglab.errors import ConfigError

LABEL = "label"
SIDE = 28
COLUMNS = 1 + SIDE * SIDE  # label + pixel0..pixel783
EXPECTED = "a header `label,pixel0,...,pixel783` then one row per image (Kaggle's train.csv)"


class DigitsCSVDataModule(ImageDataModule):
    """The labelled Kaggle CSV, cut by one seeded permutation into train / val / test.

    The file is the only labelled data, so E2 holds out part of it for testing:
    ``read_split("test")`` is ``test_fraction`` of the rows, ``read_split("train")``
    the rest (in file order) and ``validation_split`` takes ``val_fraction`` of
    that rest: 0.2 and 0.25 give E2's 60/20/20 (25,200 / 8,400 / 8,400 of 42,000).
    ``split_seed`` fixes all three parts independently of the training ``seed``, so
    runs with different seeds are scored on the same test images.
    """

    class_names = tuple(str(d) for d in range(10))

    def __init__(
        self,
        data_dir: str | Path,
        path: str | Path | None = None,
        test_fraction: float = 0.2,
        val_fraction: float = 0.25,
        split_seed: int = 0,
        pad_to: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(
            data_dir, pad_to=pad_to, val_fraction=val_fraction, split_seed=split_seed, **kwargs
        )
        self.path = (
            Path(path) if path is not None else self.data_dir / "digit-recognizer" / "train.csv"
        )
        self.test_fraction = check_fraction(
            test_fraction, "data.test_fraction", hint="the share of the file held out for testing"
        )

    def prepare_data(self) -> None:
        _check_exists(self.path)

    def read_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        rows = self._split.rest if split == "train" else self._split.test
        return self._file[0][rows], self._file[1][rows]

    def validation_split(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rest, val_rows = self._split.rest, self._split.val
        val = np.searchsorted(rest, val_rows)  # file rows -> positions in the training part
        return np.setdiff1d(np.arange(len(rest)), val), val

    @cached_property
    def _file(self) -> tuple[np.ndarray, np.ndarray]:
        """The parsed CSV, read once for both splits."""
        return read_digits_csv(self.path)

    @cached_property
    def _split(self) -> _Rows:
        n = len(self._file[1])
        order = np.random.default_rng(self.split_seed).permutation(n)
        n_test = round(n * self.test_fraction)
        n_val = round((n - n_test) * self.val_fraction)
        if min(n_test, n_val, n - n_test - n_val) < 1:
            raise ConfigError(
                f"{self.path} has only {n} rows: too few for a train/validation/test split "
                f"with data.test_fraction={self.test_fraction} and data.val_fraction={self.val_fraction}; "
                "use the full file or larger fractions"
            )
        return _Rows(
            rest=np.sort(order[n_test:]),
            val=np.sort(order[n_test : n_test + n_val]),
            test=np.sort(order[:n_test]),
        )


class _Rows(NamedTuple):
    rest: np.ndarray  # train + validation file rows, ascending
    val: np.ndarray
    test: np.ndarray


def read_digits_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``uint8`` images (N, 28, 28, 1) and int64 labels of a digit-recogniser CSV.

    ``np.loadtxt``'s C parser reads the 42,000 rows in well under a second; only when
    it or the range check fails does a slower ``csv`` pass locate the first bad cell,
    so the error can name its line and column.
    """
    _check_exists(path)
    with open(path, encoding="utf-8-sig", newline="") as f:
        header = [name.strip() for name in f.readline().rstrip("\r\n").split(",")]
        if header == [""]:
            raise ConfigError(f"{path} is empty: it must hold {EXPECTED}")
        if LABEL not in header:
            raise ConfigError(
                f"{path} has no `{LABEL}` column in its header (it starts {','.join(header[:3])}): "
                f"the file must hold {EXPECTED}; Kaggle's test.csv has no labels"
            )
        if len(header) != COLUMNS:
            raise ConfigError(
                f"{path} has {len(header)} columns in its header, not {COLUMNS}: it must hold {EXPECTED}"
            )
        try:
            with warnings.catch_warnings():  # a header-only file is reported below
                warnings.filterwarnings("ignore", "loadtxt: input contained no data")
                table = np.loadtxt(f, delimiter=",", dtype=np.int32, comments=None, ndmin=2)
        except (ValueError, OverflowError):
            table = None
    label_col = header.index(LABEL)
    if table is not None and len(table) == 0:
        raise ConfigError(f"{path} has a header but no rows: it must hold {EXPECTED}")
    if table is None or not _in_range(table, label_col):
        _raise_first_bad_cell(path, header)
        raise ConfigError(f"{path} cannot be parsed as {EXPECTED}")  # not reached in practice
    pixels = np.hstack((table[:, :label_col], table[:, label_col + 1 :])).astype(np.uint8)
    return pixels.reshape(-1, SIDE, SIDE, 1), table[:, label_col].astype(np.int64)


def _check_exists(path: Path) -> None:
    if not path.is_file():
        raise ConfigError(
            f"digit-recogniser CSV not found at {path}: put Kaggle's digit-recognizer train.csv "
            "there, or set data.path to it (default <AUGLAB_DATA_DIR>/digit-recognizer/train.csv)"
        )


def _in_range(table: np.ndarray, label_col: int) -> bool:
    labels = table[:, label_col]
    return bool(table.min() >= 0 and table.max() <= 255 and labels.min() >= 0 and labels.max() <= 9)


def _raise_first_bad_cell(path: Path, header: list[str]) -> None:
    """Re-read ``path`` with the csv module and raise a ConfigError at the first bad cell."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            if not row:  # blank lines are skipped, as np.loadtxt does
                continue
            where = f"{path}: line {reader.line_num}"
            if len(row) != COLUMNS:
                raise ConfigError(
                    f"{where} has {len(row)} columns, not {COLUMNS} (label + 784 pixels): "
                    "fix or delete that row"
                )
            for col, (name, cell) in enumerate(zip(header, row, strict=True), start=1):
                try:
                    value = int(cell)
                except ValueError:
                    raise ConfigError(
                        f"{where}, column {col} ({name}): {cell!r} is not a whole number; "
                        "fix or delete that row"
                    ) from None
                low, high = (0, 9) if name == LABEL else (0, 255)
                if not low <= value <= high:
                    raise ConfigError(
                        f"{where}, column {col} ({name}): {value} is outside {low}-{high}; "
                        "fix or delete that row"
                    )
