"""Write MNIST (or the fingers sample) as an image folder: <out>/{train,test}/<class>/*.png.

    python scripts/mnist_to_folder.py --mnist data/MNIST/raw --out /tmp/mnist_folder --per-class 100
    python scripts/mnist_to_folder.py --fingers data/fingers --out /tmp/fingers_folder
    python train.py data=image_folder data.root=/tmp/mnist_folder

A known dataset in the layout `data=image_folder` reads (torchvision's ImageFolder), to try
that datamodule, or to compare it with the dataset's own. --mnist takes the four IDX files
(.gz or unpacked, as torchvision leaves them); --fingers the Kaggle sample's train/ and test/
PNGs (classes: finger counts, or hands with --target hand). Each PNG is named by its
position in the source split, so a file traces back to its image.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from auglab.data.fingers import TARGETS, FingersDataModule
from auglab.data.mnist import read_idx

SPLITS = {"train": "train", "test": "t10k"}  # folder name: MNIST's file prefix


def read_mnist(raw: Path, split: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(images N,H,W uint8, labels, class names) of one split of MNIST's IDX files."""
    arrays = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind, ndim in (("images-idx3", 3), ("labels-idx1", 1)):
            name = f"{SPLITS[split]}-{kind}-ubyte"
            path = raw / name
            if not path.is_file():
                packed = raw / f"{name}.gz"
                if not packed.is_file():
                    sys.exit(f"mnist_to_folder: neither {path} nor {packed} exists")
                path = Path(tmp) / name
                with gzip.open(packed) as src, open(path, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            arrays.append(np.array(read_idx(path, ndim)))
    return arrays[0], arrays[1].astype(np.int64), tuple(str(d) for d in range(10))


def read_fingers(
    folder: Path, split: str, target: str
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(images N,H,W uint8, labels, class names) of one split of the fingers PNGs."""
    dm = FingersDataModule(data_dir=folder.parent, path=folder, target=target, cache=False)
    images, labels = dm.read_split(split)
    return images[..., 0], labels, TARGETS[target]


def first_per_class(labels: np.ndarray, limit: int | None) -> np.ndarray:
    """Positions of the first ``limit`` images of each class, in file order (all: None)."""
    if limit is None:
        return np.arange(len(labels))
    keep = [np.flatnonzero(labels == c)[:limit] for c in np.unique(labels)]
    return np.sort(np.concatenate(keep))


def write_split(
    out: Path, images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], rows: np.ndarray
) -> None:
    for name in classes:
        (out / name).mkdir(parents=True, exist_ok=True)
    width = len(str(len(labels)))
    for i in rows:
        Image.fromarray(images[i]).save(out / classes[labels[i]] / f"{i:0{width}d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--mnist", type=Path, help="folder holding MNIST's four IDX files")
    source.add_argument("--fingers", type=Path, help="folder holding the fingers train/ and test/")
    parser.add_argument("--out", type=Path, required=True, help="new or empty folder to write")
    parser.add_argument("--per-class", type=int, help="training images per class (default: all)")
    parser.add_argument("--test-per-class", type=int, help="test images per class (default: all)")
    parser.add_argument(
        "--target", choices=sorted(TARGETS), default="count", help="fingers' classes"
    )
    args = parser.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        sys.exit(f"mnist_to_folder: {args.out} is not empty: name a new or empty folder")
    for split, limit in (("train", args.per_class), ("test", args.test_per_class)):
        if args.mnist is not None:
            images, labels, classes = read_mnist(args.mnist, split)
        else:
            images, labels, classes = read_fingers(args.fingers, split, args.target)
        rows = first_per_class(labels, limit)
        write_split(args.out / split, images, labels, classes, rows)
        print(f"wrote {len(rows)} {split} images in {len(classes)} classes to {args.out / split}")


if __name__ == "__main__":
    main()
