"""data.val_size: MNIST's 5000 is E1's tail, unchanged; a count is a stratified draw from
train, the same for every seed; a fraction holds out a share of the very training subset."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from auglab.data import CIFAR10DataModule, ImageDataModule, MNISTDataModule
from auglab.data.validation import min_subset
from auglab.errors import ConfigError
from tests.data.formats import write_cifar10
from tests.data.toy import ToyData
from tests.helpers import QUICK, REPO, decode_index, train


def loaded(mnist_root, **kwargs) -> MNISTDataModule:
    dm = MNISTDataModule(data_dir=mnist_root, **kwargs)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def val_rows(dm: ImageDataModule) -> np.ndarray:
    return decode_index(dm.val_set.images)


def mnist_labels(mnist_root) -> np.ndarray:
    return MNISTDataModule(data_dir=mnist_root).read_split("train")[1]


class SplitToy(ToyData):
    """ToyData (300 images, 3 classes) with the base's seeded stratified validation split."""

    validation_split = ImageDataModule.validation_split


# ---- MNIST's default: E1's fixed tail, as before the key ----------------------------------
def test_the_composed_default_mnist_job_validates_on_e1s_tail_as_before(mnist_root, tmp_path):
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[f"paths.output_dir={tmp_path}", "data.size=100"])
    assert cfg.data.val_size == 5000
    dm = instantiate(cfg.data, data_dir=str(mnist_root))
    dm.prepare_data()
    dm.setup("fit")
    assert np.array_equal(val_rows(dm), np.arange(55_000, 60_000))  # E1's split, image for image
    assert np.array_equal(dm.train_indices, np.arange(100)) and dm.pool_size == 55_000
    assert dm.val_size == 5000


@pytest.mark.parametrize("size", [100, 1000, None], ids=["100", "1000", "all"])
def test_val_size_5000_and_null_are_the_split_without_the_key(mnist_root, size):
    before = loaded(mnist_root, size=size)  # no val_size: the constructor's default
    for val_size in (5000, None):
        dm = loaded(mnist_root, size=size, val_size=val_size)
        assert np.array_equal(dm.train_indices, before.train_indices)
        assert np.array_equal(val_rows(dm), val_rows(before))
        assert np.array_equal(dm.train_set.images, before.train_set.images)


def test_val_from_test_keeps_working_at_the_default_and_reports_the_test_set_size(mnist_root):
    dm = loaded(mnist_root, size=100, val_from_test=True, val_size=5000)
    assert dm.val_size == len(dm.test_set) and dm.pool_size == 60_000


# ---- a count: a stratified draw from all of train -------------------------------------------
def test_a_count_draws_a_stratified_set_from_all_60000_disjoint_from_training(mnist_root):
    dm = loaded(mnist_root, size=1000, val_size=2000)
    val = val_rows(dm)
    assert len(val) == 2000 == dm.val_size and len(np.unique(val)) == 2000
    assert val.min() < 55_000 <= val.max()  # from the whole train file, not E1's tail
    assert dm.pool_size == 58_000 and len(dm.train_indices) == dm.train_size == 1000
    assert not np.intersect1d(val, dm.train_indices).size
    labels = mnist_labels(mnist_root)
    expected = np.bincount(labels, minlength=10) * 2000 / len(labels)
    assert np.abs(np.bincount(labels[val], minlength=10) - expected).max() < 1  # proportional


def test_a_count_is_the_same_for_every_training_seed_and_moves_with_the_split_seed(mnist_root):
    a, b = (loaded(mnist_root, size=100, val_size=500, seed=s) for s in (0, 1))
    assert np.array_equal(val_rows(a), val_rows(b))  # MNIST: split seed 0 without one
    c = loaded(mnist_root, size=100, val_size=500, split_seed=3)
    assert not np.array_equal(val_rows(a), val_rows(c))
    toy = [SplitToy(".", val_size=30, split_seed=7, seed=s) for s in (0, 1)]
    for dm in toy:
        dm.setup()
    assert np.array_equal(*(dm.val_set.images[:, 0, 0, 0] for dm in toy))
    assert np.bincount(toy[0].val_set.labels.numpy()).tolist() == [10, 10, 10]


def test_cifar10_counts_and_fractions_work_the_same_way(tmp_path):
    write_cifar10(tmp_path, per_batch=40, n_test=50, seed=0)  # 200 train, 20 per class
    count = CIFAR10DataModule(data_dir=tmp_path, val_size=30)
    count.setup("fit")
    assert count.val_size == 30 and count.train_size == 170
    assert np.bincount(count.val_set.labels.numpy()).tolist() == [3] * 10
    share = CIFAR10DataModule(data_dir=tmp_path, size=100, subset_seed=1, val_size=0.3)
    share.setup("fit")
    assert (share.train_size, share.val_size) == (70, 30)
    assert np.bincount(share.val_set.labels.numpy()).tolist() == [3] * 10


# ---- a fraction: a share of the same subset ---------------------------------------------
@pytest.mark.parametrize(
    "subset", [{}, {"subset_seed": 4}, {"subset": "stratified", "seed": 2}], ids=str
)
def test_a_fraction_holds_out_a_share_of_the_subset_a_job_without_it_trains_on(mnist_root, subset):
    without = loaded(mnist_root, size=100, **subset)
    dm = loaded(mnist_root, size=100, val_size=0.2, **subset)
    val = val_rows(dm)
    assert (dm.train_size, dm.val_size, len(dm.train_set)) == (80, 20, 80)
    assert np.array_equal(np.union1d(val, dm.train_indices), without.train_indices)
    assert not np.intersect1d(val, dm.train_indices).size
    labels = mnist_labels(mnist_root)
    assert set(labels[val]) == set(labels[dm.train_indices]) == set(labels[without.train_indices])


def test_a_fraction_is_seeded_by_the_subset_seed_not_the_training_seed(mnist_root):
    a, b = (loaded(mnist_root, size=100, subset_seed=4, val_size=0.2, seed=s) for s in (0, 1))
    assert np.array_equal(val_rows(a), val_rows(b))


def test_the_smallest_size_the_error_proposes_works(mnist_root):
    size = min_subset(0.2, 10)
    dm = loaded(mnist_root, size=size, subset_seed=0, val_size=0.2)
    assert dm.val_size >= 10 and dm.train_size >= 10
    with pytest.raises(ConfigError):
        loaded(mnist_root, size=size - 1, subset_seed=0, val_size=0.2)


# ---- errors: one line, naming the key and the fix -----------------------------------------
@pytest.mark.parametrize("bad", [0, -5, 1.0, 1.5, 2500.0, "half", True])
def test_a_val_size_that_is_neither_a_count_nor_a_fraction_is_refused(bad):
    with pytest.raises(ConfigError, match=r"data\.val_size=.* must be a whole number >= 1"):
        SplitToy(".", val_size=bad)


def test_a_count_with_val_from_test_is_refused():
    with pytest.raises(ConfigError, match=r"data\.val_size=100 .*data\.val_from_test=true"):
        SplitToy(".", val_size=100, val_from_test=True)


def test_a_count_that_leaves_nothing_to_train_on_names_the_largest_that_works(mnist_root):
    with pytest.raises(ConfigError, match=r"data\.val_size=60000 .*use data\.val_size<=59990"):
        loaded(mnist_root, val_size=60_000)


def test_a_size_larger_than_the_pool_left_after_a_count_is_refused(mnist_root):
    with pytest.raises(ConfigError, match=r"data\.size=10000 .*1000 MNIST .*val_size=59000"):
        MNISTDataModule(data_dir=mnist_root, size=10_000, val_size=59_000)
    with pytest.raises(ConfigError, match=r"data\.size=280 .*270 images left .*val_size=30"):
        SplitToy(".", size=280, val_size=30, split_seed=0).setup()


@pytest.mark.parametrize(
    ("val_size", "side", "fix"),
    [(0.2, "validation", "data.size>=48"), (0.9, "training", "data.size>=96")],
)
def test_a_fraction_leaving_a_class_out_of_one_side_names_the_smallest_size(
    mnist_root, val_size, side, fix
):
    with pytest.raises(ConfigError, match=rf"no {side} image .*use {fix}\b"):
        loaded(mnist_root, size=20, subset_seed=0, val_size=val_size)


def test_a_fraction_of_a_subset_with_a_class_of_one_image_is_refused():
    dm = ToyData(".", size=4, val_size=0.5)  # the first 4 of the pool: classes 0, 1, 2, 0
    with pytest.raises(ConfigError, match=r"needs two images of every class .*data\.subset_seed"):
        dm.setup()


# ---- through train.py ---------------------------------------------------------------------
@pytest.mark.slow
def test_train_py_trains_on_the_rest_of_the_subset_after_a_fraction(run_env, tmp_path):
    out = tmp_path / "run"
    train(
        "data.size=100",
        "data.val_size=0.2",
        "debug=fast_dev_run",
        *QUICK,
        f"hydra.run.dir={out}",
        env=run_env,
    )
    m = json.loads((out / "metrics.json").read_text())
    assert (m["train_size"], m["val_size"]) == (80, 20)


@pytest.mark.slow
def test_train_py_refuses_a_count_larger_than_train_before_training(run_env, tmp_path):
    logs = tmp_path / "logs"
    proc = train("data.val_size=60000", f"paths.log_dir={logs}", env=run_env, check=False)
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert last.startswith("auglab: error: data.val_size=60000 leaves too few images")
    assert "Epoch" not in proc.stdout + proc.stderr
