"""data.synthetic_size: offline expansion of the subset to N augmented images."""

from __future__ import annotations

import albumentations as A
import numpy as np
import pytest
import torch

from auglab.errors import ConfigError
from tests.data.toy import ToyData


def rotate() -> A.Compose:
    return A.Compose([A.Affine(rotate=(-30, 30), border_mode=1, p=1.0)])


def synthetic(tmp_path, size=25, n=200, seed=0, augment=None) -> ToyData:
    dm = ToyData(
        tmp_path / "data",
        size=size,
        seed=seed,
        augment=augment or rotate(),
        synthetic_size=n,
        synthetic_dir=tmp_path / "job",
    )
    dm.setup("fit")
    return dm


def test_expands_to_n_images_labelled_from_the_subset(tmp_path):
    dm = synthetic(tmp_path)
    assert len(dm.train_set) == 200 and dm.train_size == 25
    assert dm.train_set.transform is None  # no online augmentation on top
    source_labels = np.arange(25) % 3  # the first 25 images of ToyData
    # Every source image is used 200 / 25 = 8 times: the label counts follow.
    counts = np.bincount(dm.train_set.labels.numpy(), minlength=3)
    assert counts.tolist() == (np.bincount(source_labels, minlength=3) * 8).tolist()
    assert (tmp_path / "job" / "synthetic_200.npz").is_file()


def test_images_are_augmented_not_copies(tmp_path):
    dm = synthetic(tmp_path)
    originals = {img.tobytes() for img in ToyData(tmp_path).read_split("train")[0][:25]}
    copies = sum(img.tobytes() in originals for img in dm.train_set.images)
    assert copies < 5


def test_same_seed_same_images_other_seed_differs(tmp_path):
    a = synthetic(tmp_path / "a", seed=3).train_set.images
    b = synthetic(tmp_path / "b", seed=3).train_set.images
    c = synthetic(tmp_path / "c", seed=4).train_set.images
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_does_not_consume_the_training_random_stream(tmp_path):
    torch.manual_seed(7)
    synthetic(tmp_path)
    after = torch.rand(3)
    torch.manual_seed(7)
    assert torch.equal(after, torch.rand(3))


def test_rerun_reuses_the_saved_set(tmp_path):
    first = synthetic(tmp_path).train_set.images
    path = tmp_path / "job" / "synthetic_200.npz"
    stamp = path.stat().st_mtime_ns
    again = synthetic(tmp_path).train_set.images
    assert path.stat().st_mtime_ns == stamp and np.array_equal(first, again)


def test_changed_settings_rebuild_the_saved_set(tmp_path):
    first = synthetic(tmp_path, seed=0).train_set.images
    rebuilt = synthetic(tmp_path, seed=1).train_set.images
    assert not np.array_equal(first, rebuilt)
    with np.load(tmp_path / "job" / "synthetic_200.npz") as saved:
        assert np.array_equal(saved["images"], rebuilt)


def test_needs_an_augmentation(tmp_path):
    with pytest.raises(ConfigError, match="aug=on"):
        ToyData(tmp_path, synthetic_size=100)


@pytest.mark.parametrize("bad", [0, -5, 2.5, "many"])
def test_refuses_a_bad_count(tmp_path, bad):
    with pytest.raises(ConfigError, match="data.synthetic_size"):
        ToyData(tmp_path, synthetic_size=bad, augment=rotate())
