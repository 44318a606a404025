"""scripts/mnist_to_folder.py: MNIST's IDX files (or fingers PNGs) as an image folder."""

from __future__ import annotations

import gzip
import runpy
import sys

import numpy as np
import pytest
from PIL import Image

from auglab.data import ImageFolderDataModule
from tests.data.formats import write_fingers
from tests.helpers import REPO, make_digits, write_idx_images, write_idx_labels

SCRIPT = runpy.run_path(str(REPO / "scripts" / "mnist_to_folder.py"), run_name="mnist_to_folder")


def run(monkeypatch, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", ["mnist_to_folder.py", *args])
    SCRIPT["main"]()


@pytest.fixture
def raw(tmp_path):
    """Gzipped train files and unpacked test files, as torchvision may leave either."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for prefix, n, seed in (("train", 300, 0), ("t10k", 100, 1)):
        images, labels = make_digits(n, seed)
        write_idx_images(raw / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx_labels(raw / f"{prefix}-labels-idx1-ubyte.gz", labels)
    for packed in raw.glob("t10k-*.gz"):
        packed.with_suffix("").write_bytes(gzip.decompress(packed.read_bytes()))
        packed.unlink()
    return raw


def test_mnist_becomes_class_folders_of_pngs_limited_per_class(raw, tmp_path, monkeypatch):
    out = tmp_path / "folder"
    run(monkeypatch, "--mnist", str(raw), "--out", str(out), "--per-class", "5")
    images, labels = make_digits(300, 0)
    assert sorted(p.name for p in (out / "train").iterdir()) == [str(d) for d in range(10)]
    written = sorted((out / "train").glob("*/*.png"))
    assert len(written) == 50 and len(list((out / "test").glob("*/*.png"))) == 100
    first = written[0]  # train/0/<its row in the file>.png
    row = int(first.stem)
    assert labels[row] == 0 and np.array_equal(np.asarray(Image.open(first)), images[row])
    dm = ImageFolderDataModule(tmp_path, root=out, image_size=None)
    dm.load()
    assert dm.class_names == tuple(str(d) for d in range(10)) and dm.input_shape == (1, 28, 28)


def test_fingers_become_count_folders(tmp_path, monkeypatch):
    write_fingers(tmp_path / "fingers", n_train=12, n_test=6, seed=0)
    out = tmp_path / "folder"
    run(monkeypatch, "--fingers", str(tmp_path / "fingers"), "--out", str(out))
    assert len(list(out.glob("train/*/*.png"))) == 12 and len(list(out.glob("test/*/*.png"))) == 6


def test_a_folder_that_is_not_empty_is_refused(raw, tmp_path, monkeypatch):
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "old.png").write_bytes(b"")
    with pytest.raises(SystemExit, match="not empty"):
        run(monkeypatch, "--mnist", str(raw), "--out", str(tmp_path / "folder"))
