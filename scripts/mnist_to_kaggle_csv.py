"""Write MNIST images in the Kaggle "digit recognizer" train.csv format (for E2 without Kaggle).

    python scripts/mnist_to_kaggle_csv.py --data-dir ../shared/data --rows 42000 --out /tmp/kaggle/train.csv

The Kaggle file is 42,000 MNIST-style digits: a header ``label,pixel0,...,pixel783`` and
one row per image, pixels 0-255 in row-major order. This takes the first ``--rows``
images of the official MNIST training file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from torchvision.datasets import MNIST


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data", help="folder holding MNIST/raw/")
    parser.add_argument("--rows", type=int, default=42_000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    ds = MNIST(root=args.data_dir, train=True, download=True)
    images = ds.data.numpy()[: args.rows].reshape(-1, 784)
    labels = ds.targets.numpy()[: args.rows]
    table = np.column_stack([labels, images]).astype(np.int64)
    header = ",".join(["label", *(f"pixel{i}" for i in range(784))])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(args.out, table, fmt="%d", delimiter=",", header=header, comments="")
    print(f"wrote {len(table)} rows to {args.out}")


if __name__ == "__main__":
    main()
