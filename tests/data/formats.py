"""Tiny datasets in the real file formats: Kaggle CSV, CIFAR-10 pickles, fingers PNGs.

Every generator draws class-dependent patterns (so a network can learn them)
and returns what it wrote, so tests can compare a reader's output to the truth.
"""

from __future__ import annotations

import pickle
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

CIFAR_NAMES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


# ---- Kaggle digit recogniser ---------------------------------------------------------------
def digits_header() -> str:
    return "label," + ",".join(f"pixel{i}" for i in range(784))


def write_digits_csv(path: Path, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``train.csv`` of ``n`` rows: a bright bar at a class-dependent row, plus the row index.

    The index sits in pixels 0..2 (base 256), so a test can tell which file rows a
    split took. Rows are written from per-class templates: 42,000 rows in well under
    a second. Returns the images (N, 28, 28) and labels written.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n)
    templates = np.zeros((10, 784), dtype=np.uint8)
    for c in range(10):
        for offset in (0, 1):
            start = 28 * (4 + 2 * c + offset)
            templates[c, start + 6 : start + 22] = 255
    tails = [",".join(map(str, t[3:].tolist())) for t in templates]
    lines = [
        f"{c},{i % 256},{i // 256 % 256},{i // 65536},{tails[c]}"
        for i, c in enumerate(labels.tolist())
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(digits_header() + "\n" + "\n".join(lines) + "\n")
    images = templates[labels]
    index = np.arange(n)
    images[:, 0], images[:, 1], images[:, 2] = index % 256, index // 256 % 256, index // 65536
    return images.reshape(n, 28, 28), labels


def digit_rows(images: np.ndarray) -> np.ndarray:
    """File row of each image written by ``write_digits_csv`` (images N, H, W, C)."""
    px = images.reshape(len(images), -1)[:, :3].astype(np.int64)
    return px[:, 0] + 256 * px[:, 1] + 65536 * px[:, 2]


# ---- CIFAR-10 python pickles -----------------------------------------------------------------
def cifar_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, 32, 32, 3) uint8: class c lights colour channel c % 3 in horizontal band c, plus noise."""
    n = len(labels)
    images = rng.integers(0, 40, size=(n, 32, 32, 3), dtype=np.uint8)
    for i, c in enumerate(labels):
        images[i, 3 * c : 3 * c + 3, :, c % 3] = 250
    return images


def write_cifar10(
    root: Path, per_batch: int = 40, n_test: int = 50, seed: int = 0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``<root>/cifar-10-batches-py`` as in cifar-10-python.tar.gz: 5 train batches, test, meta.

    Each batch is a pickled dict with ``data`` (N, 3072) uint8 rows holding the
    red, green then blue 32x32 planes, row-major, and ``labels`` a list of ints
    (the real files are Python 2 pickles whose str keys load as ``str`` under
    ``encoding="latin1"``, as here). Returns HWC images and labels per split.
    """
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    train_x, train_y = [], []
    batches = [(f"data_batch_{b}", per_batch) for b in range(1, 6)] + [("test_batch", n_test)]
    for name, n in batches:
        labels = np.arange(n) % 10  # every class in every batch
        rng.shuffle(labels)
        images = cifar_images(labels, rng)
        entry = {
            "batch_label": f"{name} of 6",
            "labels": labels.tolist(),
            "data": images.transpose(0, 3, 1, 2).reshape(n, 3072),
            "filenames": [f"img_{i}.png" for i in range(n)],
        }
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)
        if name == "test_batch":
            test = (images, labels)
        else:
            train_x.append(images)
            train_y.append(labels)
    meta = {"num_cases_per_batch": per_batch, "label_names": CIFAR_NAMES, "num_vis": 3072}
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump(meta, f, protocol=2)
    return {"train": (np.concatenate(train_x), np.concatenate(train_y)), "test": test}


# ---- Kaggle fingers PNGs ---------------------------------------------------------------------
def finger_image(count: int, hand: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A dark square with ``count`` bright vertical bars on the left (L) or right (R) half."""
    image = rng.integers(0, 30, size=(size, size), dtype=np.uint8)
    unit = size // 16
    x0 = unit if hand == "L" else size // 2 + unit
    for k in range(count):
        image[4 * unit : 12 * unit, x0 + k * unit : x0 + k * unit + unit // 2 + 1] = 220
    image[13 * unit :, x0 : x0 + 6 * unit] = 180  # the palm
    return image


def write_fingers(
    root: Path, n_train: int = 60, n_test: int = 24, size: int = 128, seed: int = 0
) -> dict[str, list[tuple[str, int, str]]]:
    """``<root>/{train,test}/<uuid>_<count><L|R>.png`` 8-bit greyscale, every class present.

    Returns (file name, count, hand) per split, in name order.
    """
    rng = np.random.default_rng(seed)
    written = {}
    for split, n in (("train", n_train), ("test", n_test)):
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        rows = []
        for i in range(n):
            count, hand = i % 6, "LR"[i // 6 % 2]
            name = f"{uuid.UUID(bytes=rng.bytes(16), version=4)}_{count}{hand}.png"
            Image.fromarray(finger_image(count, hand, size, rng), mode="L").save(folder / name)
            rows.append((name, count, hand))
        written[split] = sorted(rows)
    return written
