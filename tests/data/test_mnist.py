"""MNISTDataModule: E1's slices, sizes, splits, padding and its error messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.datasets import MNIST

from auglab.aug import build_augmentation
from auglab.data import MNISTDataModule
from auglab.errors import ConfigError
from tests.helpers import N_TEST, decode_index


def loaded(mnist_root, **kwargs) -> MNISTDataModule:
    dm = MNISTDataModule(data_dir=mnist_root, **kwargs)
    dm.prepare_data()
    dm.setup("fit")
    return dm


@pytest.mark.parametrize(
    ("size", "start"), [(100, 0), (1000, 550), (10000, 6550)], ids=["100", "1000", "10000"]
)
def test_reference_sizes_take_e1_slices(mnist_root, size, start):
    dm = loaded(mnist_root, size=size)
    assert np.array_equal(decode_index(dm.train_set.images), np.arange(start, start + size))


def test_other_reference_size_takes_first_n(mnist_root):
    dm = loaded(mnist_root, size=250)
    assert np.array_equal(decode_index(dm.train_set.images), np.arange(250))


def test_size_null_uses_all_55000_and_validation_is_the_tail(mnist_root):
    dm = loaded(mnist_root, size=None)
    assert len(dm.train_set) == 55_000
    assert np.array_equal(decode_index(dm.val_set.images), np.arange(55_000, 60_000))


def test_stratified_subset_is_balanced_seeded_and_from_the_pool(mnist_root):
    a = loaded(mnist_root, size=1000, subset="stratified", seed=3)
    b = loaded(mnist_root, size=1000, subset="stratified", seed=3)
    c = loaded(mnist_root, size=1000, subset="stratified", seed=4)
    idx_a = decode_index(a.train_set.images)
    assert np.bincount(a.train_set.labels.numpy(), minlength=10).tolist() == [100] * 10
    assert np.array_equal(idx_a, decode_index(b.train_set.images))
    assert not np.array_equal(idx_a, decode_index(c.train_set.images))
    assert idx_a.max() < 55_000 and len(np.unique(idx_a)) == 1000


def test_images_are_padded_to_32_and_shapes_flow_out(mnist_root):
    dm = loaded(mnist_root, size=100)
    assert dm.input_shape == (1, 32, 32)
    assert dm.num_classes == 10
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (64, 1, 32, 32) and x.dtype == torch.float32
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert x[:, :, :2].abs().sum() == 0  # the 2-pixel zero border


def test_pad_to_null_keeps_28x28(mnist_root):
    assert loaded(mnist_root, size=100, pad_to=None).input_shape == (1, 28, 28)


def test_test_set_is_the_t10k_file(mnist_root):
    dm = loaded(mnist_root, size=100)
    dm.setup("test")
    assert len(dm.test_set) == N_TEST


def test_labels_match_the_idx_file(mnist_root):
    dm = loaded(mnist_root, size=1000)
    reference = MNIST(root=str(mnist_root), train=True).targets.numpy()[550:1550]
    assert np.array_equal(dm.train_set.labels.numpy(), reference)


def test_only_training_batches_are_augmented(mnist_root):
    dm = loaded(mnist_root, size=100, augment=build_augmentation(_e1_preset()))
    assert dm.train_set.transform is not None
    assert dm.val_set.transform is None
    plain = torch.from_numpy(dm.train_set.images[:8]).permute(0, 3, 1, 2).float() / 255
    augmented, _ = dm.train_set.__getitems__(list(range(8)))
    assert augmented.shape == plain.shape
    assert not torch.equal(augmented, plain)


@pytest.mark.parametrize("size", [0, -5, 2.5, "abc", True])
def test_bad_size_is_refused(size):
    with pytest.raises(ConfigError, match="data.size"):
        MNISTDataModule(data_dir="unused", size=size)


def test_size_above_55000_is_refused():
    with pytest.raises(ConfigError, match=r"data.size=55001 is larger than the 55000"):
        MNISTDataModule(data_dir="unused", size=55_001)


def test_missing_files_without_network_name_the_folder_and_the_variable(tmp_path, monkeypatch):
    # No files, and every download mirror unreachable: what an offline machine sees.
    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])
    dm = MNISTDataModule(data_dir=tmp_path, size=100)
    with pytest.raises(ConfigError) as err:
        dm.prepare_data()
    message = str(err.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    assert "AUGLAB_DATA_DIR" in message
    assert "\n" not in message


def _e1_preset() -> dict:
    from omegaconf import OmegaConf

    from tests.helpers import REPO

    return OmegaConf.load(REPO / "conf" / "aug" / "on.yaml")


def test_val_from_test_trains_on_all_60000_and_validates_on_the_test_set(mnist_root):
    dm = loaded(mnist_root, val_from_test=True)
    assert len(dm.train_set) == 60_000
    assert np.array_equal(decode_index(dm.train_set.images), np.arange(60_000))
    assert dm.val_set is dm.test_set and len(dm.val_set) == N_TEST


def test_val_from_test_allows_sizes_up_to_60000(mnist_root):
    assert len(loaded(mnist_root, size=58_000, val_from_test=True).train_set) == 58_000
    with pytest.raises(ConfigError, match="data.size<=60000"):
        MNISTDataModule(data_dir=mnist_root, size=60_001, val_from_test=True)


def test_the_idx_reader_agrees_with_torchvision_and_refuses_damaged_files(mnist_root, tmp_path):
    from auglab.data.mnist import read_idx

    raw = mnist_root / "MNIST" / "raw"
    MNISTDataModule(data_dir=mnist_root).prepare_data()  # unpacks the .gz files
    reference = MNIST(root=str(mnist_root), train=False, download=False)
    assert np.array_equal(read_idx(raw / "t10k-images-idx3-ubyte", 3), reference.data.numpy())
    assert np.array_equal(read_idx(raw / "t10k-labels-idx1-ubyte", 1), reference.targets.numpy())
    cut = tmp_path / "cut"
    cut.write_bytes((raw / "t10k-images-idx3-ubyte").read_bytes()[:-5])
    with pytest.raises(
        ValueError, match=r"holds 783995 bytes .* 1000x28x28 \(784000 bytes\): truncated"
    ):
        read_idx(cut, 3)
    with pytest.raises(ValueError, match="is not a 3-d uint8 IDX file"):
        read_idx(raw / "t10k-labels-idx1-ubyte", 3)


def test_a_fraction_of_the_pool_trains_on_that_share_of_the_55000(mnist_root):
    dm = MNISTDataModule(data_dir=mnist_root, size=0.01, subset="stratified", download=False)
    dm.setup("fit")
    assert dm.pool_size == 55_000 and dm.train_size == 550
    whole = MNISTDataModule(data_dir=mnist_root, size="all", download=False)
    whole.setup("fit")
    assert whole.train_size == 55_000 and whole.size is None
