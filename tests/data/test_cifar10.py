"""CIFAR10DataModule: torchvision's pickles read without MD5s, E3's stratified split, errors."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from omegaconf import OmegaConf
from torchvision.datasets import CIFAR10

from auglab.aug import build_augmentation
from auglab.data import CIFAR10DataModule
from auglab.errors import ConfigError
from tests.data.formats import CIFAR_NAMES, write_cifar10
from tests.helpers import REPO, train

PER_BATCH, N_TEST = 40, 50  # 200 train images, 20 per class


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    return root, write_cifar10(root, per_batch=PER_BATCH, n_test=N_TEST, seed=0)


def loaded(root, **kwargs) -> CIFAR10DataModule:
    dm = CIFAR10DataModule(data_dir=root, **kwargs)
    dm.prepare_data()
    dm.setup()
    return dm


def rows_of(subset: np.ndarray, full: np.ndarray) -> np.ndarray:
    """Index in ``full`` of each image of ``subset`` (generated images are all distinct)."""
    lookup = {image.tobytes(): i for i, image in enumerate(full)}
    return np.array([lookup[image.tobytes()] for image in subset])


def test_generated_files_fail_torchvisions_md5_check(cifar_root):
    # Why the datamodule reads with presence checks: the stock class calls them corrupted.
    root, _ = cifar_root
    with pytest.raises(RuntimeError, match="not found or corrupted"):
        CIFAR10(root=str(root), train=True, download=False)


def test_images_are_hwc_uint8_in_file_order_with_labels(cifar_root):
    root, written = cifar_root
    dm = CIFAR10DataModule(data_dir=root)
    for split in ("train", "test"):
        images, labels = dm.read_split(split)
        assert images.dtype == np.uint8 and images.shape[1:] == (32, 32, 3)
        assert images.flags.c_contiguous
        assert np.array_equal(images, written[split][0])
        assert np.array_equal(labels, written[split][1])


def test_validation_is_a_stratified_20_percent_of_train(cifar_root):
    root, written = cifar_root
    dm = loaded(root)
    assert len(dm.train_set) == 160 and len(dm.val_set) == 40 and len(dm.test_set) == N_TEST
    assert np.bincount(dm.val_set.labels.numpy(), minlength=10).tolist() == [4] * 10
    train_rows = rows_of(dm.train_set.images, written["train"][0])
    val_rows = rows_of(dm.val_set.images, written["train"][0])
    assert len(np.intersect1d(train_rows, val_rows)) == 0


def test_validation_is_fixed_by_split_seed_not_by_the_run_seed(cifar_root):
    root, written = cifar_root
    full = written["train"][0]
    a, b, c = loaded(root, seed=1), loaded(root, seed=2), loaded(root, split_seed=21)
    assert np.array_equal(rows_of(a.val_set.images, full), rows_of(b.val_set.images, full))
    assert not np.array_equal(rows_of(a.val_set.images, full), rows_of(c.val_set.images, full))


def test_class_names_come_from_batches_meta_and_shapes_flow_out(cifar_root):
    root, _ = cifar_root
    dm = loaded(root)
    assert list(dm.class_names) == CIFAR_NAMES and dm.num_classes == 10
    assert dm.input_shape == (3, 32, 32)


def test_size_takes_first_n_of_the_pool_or_a_balanced_draw(cifar_root):
    root, written = cifar_root
    full = written["train"][0]
    pool = rows_of(loaded(root).train_set.images, full)
    first = loaded(root, size=30, subset="first")
    assert np.array_equal(rows_of(first.train_set.images, full), pool[:30])
    balanced = loaded(root, size=50, subset="stratified")
    assert np.bincount(balanced.train_set.labels.numpy(), minlength=10).tolist() == [5] * 10


def test_size_larger_than_the_pool_is_refused(cifar_root):
    root, _ = cifar_root
    with pytest.raises(ConfigError, match=r"data.size=161 is larger than the 160 training images"):
        loaded(root, size=161)


def test_colour_images_are_augmented_in_training_only(cifar_root):
    root, _ = cifar_root
    preset = OmegaConf.load(REPO / "conf" / "aug" / "on.yaml")
    dm = loaded(root, size=16, augment=build_augmentation(preset))
    assert dm.val_set.transform is None
    x, _ = dm.train_set.__getitems__(list(range(8)))
    assert x.shape == (8, 3, 32, 32)
    assert not np.allclose(x.numpy(), dm.train_set.images[:8].transpose(0, 3, 1, 2) / 255)


def test_missing_files_and_failed_download_name_folder_files_and_variable(tmp_path, monkeypatch):
    # Nothing on disk and the download URL unreachable: what an offline machine sees.
    monkeypatch.setattr(CIFAR10, "url", "http://127.0.0.1:9/cifar-10-python.tar.gz")
    dm = CIFAR10DataModule(data_dir=tmp_path)
    with pytest.raises(ConfigError) as err:
        dm.prepare_data()
    message = str(err.value)
    assert str(tmp_path / "cifar-10-batches-py") in message
    assert "the download failed" in message
    for name in ("data_batch_1", "data_batch_5", "test_batch", "batches.meta"):
        assert name in message
    assert "AUGLAB_DATA_DIR" in message and "\n" not in message


def test_one_missing_batch_without_download_is_named(tmp_path):
    write_cifar10(tmp_path, per_batch=10, n_test=10)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    dm = CIFAR10DataModule(data_dir=tmp_path, download=False)
    with pytest.raises(
        ConfigError, match=r"cifar-10-batches-py \(missing: data_batch_3\) and data.download=false"
    ):
        dm.prepare_data()


def test_unreadable_batch_is_refused_naming_the_folder(tmp_path):
    write_cifar10(tmp_path, per_batch=10, n_test=10)
    folder = tmp_path / "cifar-10-batches-py"
    (folder / "data_batch_2").write_bytes(pickle.dumps({"data": np.zeros((3, 7), np.uint8)}))
    with pytest.raises(
        ConfigError, match=r"cannot read the CIFAR-10 batches in .*cifar-10-batches-py"
    ):
        CIFAR10DataModule(data_dir=tmp_path, download=False).read_split("train")


@pytest.mark.slow
def test_train_py_runs_lenet5_on_three_channels(cifar_root, run_env, tmp_path):
    root, _ = cifar_root
    out = tmp_path / "run"
    train(
        "data=cifar10",
        f"data.data_dir={root}",
        "model=lenet5",
        "debug=fast_dev_run",
        f"hydra.run.dir={out}",
        env=run_env,
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_size"] == 160
    assert 0.0 <= metrics["test_acc"] <= 1.0
