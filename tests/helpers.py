"""Helpers: a full-size MNIST in the real IDX .gz format, generated, never downloaded.

Every training image carries its own index in its first three pixels, so tests
can tell exactly which slice of the train file a datamodule selected.
"""

from __future__ import annotations

import gzip
import json
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
N_TRAIN, N_TEST = 60_000, 1_000


def write_idx_images(path: Path, images: np.ndarray) -> None:
    n, h, w = images.shape
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(struct.pack(">IIII", 2051, n, h, w))
        f.write(images.astype(np.uint8).tobytes())


def write_idx_labels(path: Path, labels: np.ndarray) -> None:
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(struct.pack(">II", 2049, len(labels)))
        f.write(labels.astype(np.uint8).tobytes())


def make_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Learnable fake digits: a bright bar whose position is the class, plus its index."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    rows = 4 + 2 * labels
    for offset in (0, 1):
        images[np.arange(n), rows + offset, 6:22] = 255
    index = np.arange(n)
    images[:, 0, 0], images[:, 0, 1], images[:, 0, 2] = (
        index % 256,
        index // 256 % 256,
        index // 65536,
    )
    return images, labels


def write_mnist(root: Path) -> Path:
    """``<root>/MNIST/raw/*.gz``, generated digits exactly as torchvision lays MNIST out."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    train_x, train_y = make_digits(N_TRAIN, seed=0)
    test_x, test_y = make_digits(N_TEST, seed=1)
    write_idx_images(raw / "train-images-idx3-ubyte.gz", train_x)
    write_idx_labels(raw / "train-labels-idx1-ubyte.gz", train_y)
    write_idx_images(raw / "t10k-images-idx3-ubyte.gz", test_x)
    write_idx_labels(raw / "t10k-labels-idx1-ubyte.gz", test_y)
    return root


def decode_index(images: np.ndarray, pad: int = 2) -> np.ndarray:
    """Invert ``make_digits``' index stamp (images N,H,W,C as stored by the datamodule)."""
    px = images[:, pad, pad : pad + 3, 0].astype(np.int64)
    return px[:, 0] + 256 * px[:, 1] + 65536 * px[:, 2]


def record(job_dir: Path) -> dict:
    """A job's record (metrics.json), parsed as strict JSON: NaN or Infinity fail the test."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{job_dir}/metrics.json holds {constant}: not valid JSON")

    return json.loads((job_dir / "metrics.json").read_text(), parse_constant=refuse)


def write_job(
    sweep: Path,
    num: int,
    overrides: list[str],
    acc: float | None,
    status: str = "finished",
    **fields,
):
    """A job dir as train.py leaves it: its record, with sizes, preset and seed read from the
    overrides; ``fields`` sets any other record field."""
    from auglab.record import JobRecord, write_record

    values = dict(o.split("=", 1) for o in overrides)
    record = JobRecord(
        status=status,
        job_num=num,
        overrides=list(overrides),
        test_acc=acc,
        test_loss=None if acc is None else 1 - acc,
        val_acc_best=acc,
        train_size=int(values.get("data.size", 1000)),
        aug=values.get("aug", "off"),
        aug_strength=1.0,
        seed=int(values.get("seed", 42)),
        epochs=1,
        optimizer_steps=2,
        train_images_seen=100,
        fit_seconds=1.0,
        train_images_per_second=100.0,
    )
    for key, value in fields.items():
        setattr(record, key, value)
    (sweep / str(num)).mkdir(parents=True, exist_ok=True)
    write_record(record, sweep / str(num))
    return record


def quiet_trainer(root: Path, **overrides):
    """A CPU Lightning Trainer with no logger, checkpoints, progress bar or summary."""
    import lightning as L

    options = dict(
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        default_root_dir=root,
    )
    return L.Trainer(**{**options, **overrides})


def train(*overrides: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """Run the real entry point, as a user would."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "train.py"), *overrides],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"train.py failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return proc


# Small and quick: no pictures, CSV logging, big evaluation batches.
QUICK = ["logger=csv", "callbacks.pictures=null", "data.eval_batch_size=2500"]
#: Record fields that say how a job ran (its clock, attempts, threads), not what it computed.
HOW_IT_RAN = {"fit_seconds", "train_images_per_second", "attempts", "resumed_from", "threads"}


def results(job_dir: Path) -> dict:
    """What a job computed: its record less how it ran."""
    return {k: v for k, v in record(job_dir).items() if k not in HOW_IT_RAN}


def popen(*overrides: str, env: dict[str, str]) -> subprocess.Popen:
    """The real entry point in its own process group (as a terminal runs it), not waited for."""
    return subprocess.Popen(
        [sys.executable, str(REPO / "train.py"), *overrides],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for(condition: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


#: Pillow's format name for each suffix the image-folder datamodule reads.
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".webp": "WEBP"}


def folder_image(label: int, width: int, height: int, channels: int, rng) -> np.ndarray:
    """A learnable image of class ``label``: a bright band of rows whose height is the class
    (in colour: in channel ``label % 3``) over dim noise; the same at any size."""
    image = rng.integers(0, 30, size=(height, width, channels), dtype=np.uint8)
    top = height * (label + 1) // 12
    image[top : top + max(1, height // 8), :, label % channels] = 250
    return image[..., 0] if channels == 1 else image


def write_image_folder(
    root: Path,
    classes: tuple[str, ...] = ("cat", "dog", "owl"),
    per_class: int = 10,
    test_per_class: int = 0,
    channels: int = 1,
    sizes: tuple[tuple[int, int], ...] = ((32, 32),),
    extensions: tuple[str, ...] = (".png",),
    seed: int = 0,
) -> dict[str, list[tuple[Path, int, np.ndarray]]]:
    """``<root>/<class>/*`` (``test_per_class`` 0) or ``<root>/{train,test}/<class>/*``:
    images in the real formats, cycling through ``extensions`` and ``sizes`` (width, height).
    WebP is written lossless, so only JPEG changes pixels. Returns (path, label, pixels)
    per split ("all", or "train" and "test")."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    splits = (
        {"all": per_class} if not test_per_class else {"train": per_class, "test": test_per_class}
    )
    written: dict[str, list[tuple[Path, int, np.ndarray]]] = {}
    for split, count in splits.items():
        folder = root if split == "all" else root / split
        written[split] = []
        for label, name in enumerate(classes):
            (folder / name).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                ext = extensions[(label + i) % len(extensions)]
                width, height = sizes[(label + i) % len(sizes)]
                pixels = folder_image(label, width, height, channels, rng)
                path = folder / name / f"{name}_{i:03d}{ext}"
                Image.fromarray(pixels).save(path, format=IMAGE_FORMATS[ext.lower()], lossless=True)
                written[split].append((path, label, pixels))
    return written
