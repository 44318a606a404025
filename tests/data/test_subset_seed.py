"""data.subset_seed on the datamodules: a seeded class-balanced draw from the training pool,
the same for every training seed, never touching the validation and test images."""

from __future__ import annotations

import numpy as np
import pytest

from auglab.data import DigitsCSVDataModule, ImageDataModule
from auglab.errors import ConfigError
from tests.data.formats import write_digits_csv
from tests.data.toy import ToyData
from tests.helpers import decode_index


class SplitToy(ToyData):
    """ToyData with the base's seeded stratified validation split (as fingers and CIFAR-10)
    and a reference slice for 12 images (as MNIST's E1 slices)."""

    validation_split = ImageDataModule.validation_split
    reference_slices = {12: (100, 112)}


def loaded(cls: type[ImageDataModule] = SplitToy, **kwargs) -> ImageDataModule:
    dm = cls(".", **{"size": 12, "split_seed": 0, **kwargs})
    dm.setup()
    return dm


def test_a_subset_seed_draws_class_balanced_rows_from_the_pool_only():
    dm = loaded(subset_seed=3)
    pool, val = dm.validation_split(dm.read_split("train")[1])
    assert len(dm.train_indices) == 12 and set(dm.train_indices) <= set(pool)
    assert not set(dm.train_indices) & set(val)
    assert np.bincount(dm.train_set.labels.numpy()).tolist() == [4, 4, 4]
    assert dm.train_set.images[:, 0, 0, 0].tolist() == (dm.train_indices % 256).tolist()


def test_validation_and_test_images_never_change_with_the_subset_seed():
    runs = [loaded(subset_seed=s) for s in (None, 0, 1, 2)]
    for dm in runs[1:]:
        assert np.array_equal(dm.val_set.images, runs[0].val_set.images)
        assert np.array_equal(dm.test_set.images, runs[0].test_set.images)
    assert len({tuple(dm.train_indices) for dm in runs}) == 4  # each seed its own subset


def test_the_draw_is_the_same_for_every_training_seed_and_every_instance():
    draws = {tuple(loaded(subset_seed=5, seed=seed).train_indices) for seed in (0, 1, 0, 42)}
    # Pinned: the same images in every run and process.
    assert draws == {(2, 3, 14, 19, 41, 76, 106, 144, 154, 159, 231, 299)}


def test_without_a_subset_seed_the_subsets_are_as_before():
    dm = loaded()
    pool, _ = dm.validation_split(dm.read_split("train")[1])
    assert dm.train_indices.tolist() == pool[100:112].tolist()  # the reference slice
    # ToyData's own split (pool = rows 0-249): golden values from before data.subset_seed.
    stratified = loaded(ToyData, subset="stratified", seed=7)
    assert stratified.train_indices.tolist() == [1, 29, 67, 116, 141, 191, 192, 203, 210, 211, 216, 223]  # fmt: skip
    assert loaded(ToyData, subset="first").train_indices.tolist() == list(range(12))


def test_a_validation_split_that_follows_the_seed_is_refused_with_a_subset_seed():
    with pytest.raises(ConfigError, match=r"^data.subset_seed=1 keeps .* set data.split_seed"):
        loaded(subset_seed=1, split_seed=None)
    loaded(subset_seed=1, split_seed=None, val_from_test=True)  # no split drawn: fine


def test_digits_csv_draws_from_its_training_part_never_its_validation_or_test_rows(tmp_path):
    path = tmp_path / "train.csv"
    write_digits_csv(path, 400)
    dm = DigitsCSVDataModule(tmp_path, path=path, size=30, subset_seed=4)
    dm.setup()
    base = DigitsCSVDataModule(tmp_path, path=path, size=30)
    base.setup()
    rows = set(decode_index(dm.train_set.images, pad=0).tolist())
    assert len(rows) == 30 and np.bincount(dm.train_set.labels.numpy()).tolist() == [3] * 10
    assert not rows & set(decode_index(dm.val_set.images, pad=0).tolist())
    assert not rows & set(decode_index(dm.test_set.images, pad=0).tolist())
    assert np.array_equal(dm.test_set.images, base.test_set.images)
    assert np.array_equal(dm.val_set.images, base.val_set.images)
