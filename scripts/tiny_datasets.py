"""Write tiny datasets in every real format auglab reads, under one data dir laid out as
each data yaml expects by default: MNIST's IDX .gz files, Kaggle's digit CSV, CIFAR-10's
python batches and the fingers PNGs. The generators are the tests' own (tests/data).

    python scripts/tiny_datasets.py DIR   # then AUGLAB_DATA_DIR=DIR python train.py ...

For "does every experiment run at all?" (scripts/fast_dev_run_all.sh, CI), never for numbers.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the tests' generators: tests/ is not an installed package

from tests.data.formats import write_cifar10, write_digits_csv, write_fingers  # noqa: E402
from tests.helpers import write_mnist  # noqa: E402


def write_all(root: Path) -> None:
    write_mnist(root)
    write_digits_csv(root / "digit-recognizer" / "train.csv", n=500)
    write_cifar10(root, per_batch=20, n_test=20)
    write_fingers(root / "fingers", n_train=48, n_test=12)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/tiny_datasets.py DIR")
    write_all(Path(sys.argv[1]))
    print(f"tiny datasets written under {sys.argv[1]}")
