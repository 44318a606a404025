"""ImageFolderDataModule: formats, resizing, channels, splits, cache and statistics."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

import auglab.data.image_cache as image_cache
import auglab.data.image_folder as image_folder_module
from auglab.aug import build_augmentation
from auglab.data import (
    CIFAR10DataModule,
    DigitsCSVDataModule,
    FingersDataModule,
    ImageFolderDataModule,
    MNISTDataModule,
)
from auglab.data.image_folder import channel_stats
from tests.helpers import REPO, write_image_folder

MIXED_FORMATS = (".png", ".JPG", ".bmp", ".webp", ".jpeg")


def loaded(root, **kwargs) -> ImageFolderDataModule:
    dm = ImageFolderDataModule(data_dir=root.parent, root=root, **kwargs)
    dm.load()
    dm.setup("test")
    return dm


def test_classes_are_sorted_folder_names_and_every_format_is_read(tmp_path):
    root = tmp_path / "images"
    write_image_folder(root, classes=("owl", "cat", "dog"), per_class=10, extensions=MIXED_FORMATS)
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "cat" / ".hidden.png").write_bytes(b"")
    (root / ".ipynb_checkpoints").mkdir()
    dm = loaded(root)
    assert dm.class_names == ("cat", "dog", "owl") and dm.num_classes == 3
    assert len(dm.train_set) + len(dm.val_set) + len(dm.test_set) == 30
    assert dm.input_shape == (1, 32, 32)


def test_lossless_files_are_read_pixel_for_pixel_at_their_own_size(tmp_path):
    root = tmp_path / "images"
    written = write_image_folder(
        root, per_class=6, test_per_class=3, extensions=(".png", ".bmp", ".webp")
    )
    images, labels = ImageFolderDataModule(tmp_path, root=root, image_size=None).read_split("test")
    assert labels.tolist() == [label for _, label, _ in written["test"]]
    assert np.array_equal(images[..., 0], np.stack([px for _, _, px in written["test"]]))


def write_wide(root, pixels: np.ndarray) -> None:
    for name in ("a", "b"):
        for i in range(5):
            (root / name).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(root / name / f"{i}.png")


def test_crop_fills_the_square_from_the_centre(tmp_path):
    wide = np.full((20, 40), 255, np.uint8)  # 40 wide, 20 high; dark outside the centre 24
    wide[:, :8] = wide[:, 32:] = 0  # the 20x20 centre and the filter's reach around it
    write_wide(tmp_path / "images", wide)
    images, _ = ImageFolderDataModule(tmp_path, root=tmp_path / "images", image_size=10).read_split(
        "train"
    )
    assert images.shape[1:] == (10, 10, 1) and images.min() == 255  # only the centre is left


def test_pad_keeps_the_whole_image_between_zero_borders(tmp_path):
    write_wide(tmp_path / "images", np.full((20, 40), 200, np.uint8))
    dm = ImageFolderDataModule(tmp_path, root=tmp_path / "images", image_size=10, resize="pad")
    images, _ = dm.read_split("train")
    rows = images[0, :, :, 0].max(axis=1)
    assert images.shape[1:] == (10, 10, 1)
    assert rows.tolist() == [0, 0, 200, 200, 200, 200, 200, 0, 0, 0]  # 10x5, centred


def test_odd_sizes_are_resized_to_image_size(tmp_path):
    root = tmp_path / "images"
    write_image_folder(root, per_class=10, sizes=((40, 20), (17, 33), (64, 64)), channels=3)
    for resize in ("crop", "pad"):
        dm = loaded(root, image_size=24, resize=resize)
        assert dm.input_shape == (3, 24, 24)


@pytest.mark.parametrize(
    ("written", "channels", "shape"),
    [(1, None, 1), (3, None, 3), (3, 1, 1), (1, 3, 3)],
    ids=["grey", "colour", "colour-as-grey", "grey-as-colour"],
)
def test_channels_follow_the_files_unless_set(tmp_path, written, channels, shape):
    root = tmp_path / "images"
    write_image_folder(root, per_class=10, channels=written, extensions=MIXED_FORMATS)
    assert loaded(root, channels=channels).input_shape == (shape, 32, 32)


def test_grey_read_as_colour_repeats_the_grey_level(tmp_path):
    root = tmp_path / "images"
    write_image_folder(root, per_class=6, test_per_class=3)
    images, _ = ImageFolderDataModule(tmp_path, root=root, channels=3).read_split("test")
    assert np.array_equal(images[..., 0], images[..., 2])


def test_single_tree_test_split_is_stratified_and_the_same_for_every_seed(tmp_path):
    root = tmp_path / "images"
    write_image_folder(root, per_class=10)
    a, b = loaded(root, seed=0), loaded(root, seed=1)
    assert np.bincount(a.test_set.labels.numpy()).tolist() == [2, 2, 2]
    assert np.array_equal(a.test_set.images, b.test_set.images)
    assert np.bincount(a.val_set.labels.numpy()).tolist() == [2, 2, 2]
    assert not np.array_equal(a.val_set.images, b.val_set.images)  # validation follows seed
    other = loaded(root, test_split_seed=5)
    assert not np.array_equal(a.test_set.images, other.test_set.images)
    pooled = np.concatenate([a.train_set.images, a.val_set.images, a.test_set.images])
    assert len(np.unique(pooled.reshape(30, -1), axis=0)) == 30  # no image in two splits


def test_train_and_test_folders_are_the_splits(tmp_path):
    root = tmp_path / "images"
    written = write_image_folder(root, per_class=10, test_per_class=4)
    dm = loaded(root)
    assert len(dm.test_set) == 12 and len(dm.train_set) + len(dm.val_set) == 30
    expected = np.stack([px for _, _, px in written["test"]])[..., None]
    assert np.array_equal(dm.test_set.images, expected)


def test_base_knobs_apply(tmp_path):
    root = tmp_path / "images"
    write_image_folder(root, per_class=20, test_per_class=4)
    dm = loaded(root, size=12, subset="stratified", pad_to=36, samples_per_epoch=50)
    assert len(dm.train_set) == 12 and np.bincount(dm.train_set.labels.numpy()).tolist() == [4] * 3
    assert dm.input_shape == (1, 36, 36) and len(dm.train_dataloader().sampler) == 50
    same = loaded(root, size=12, subset_seed=3, split_seed=0, seed=1)
    again = loaded(root, size=12, subset_seed=3, split_seed=0, seed=2)
    assert np.array_equal(same.train_indices, again.train_indices)


@pytest.mark.parametrize("preset", ["on", "trivialaugment", "mixup"])
def test_augmentation_and_synthetic_expansion_apply_to_colour_folders(tmp_path, preset):
    root = tmp_path / "images"
    write_image_folder(root, per_class=10, channels=3)
    augment = build_augmentation(OmegaConf.load(REPO / "conf" / "aug" / f"{preset}.yaml"))
    if preset != "mixup":  # mixed labels cannot be saved with the images
        dm = loaded(root, augment=augment, synthetic_size=40, synthetic_dir=tmp_path / "out")
        assert len(dm.train_set) == 40 and dm.train_size == 18
    x, y, *_ = next(iter(loaded(root, augment=augment).train_dataloader()))
    assert x.shape == (18, 3, 32, 32) and x.dtype == torch.float32 and len(y) == 18


def test_channel_stats_are_those_of_the_training_images(tmp_path):
    root = tmp_path / "images"
    write_image_folder(root, per_class=10, channels=3, extensions=MIXED_FORMATS)
    dm = loaded(root, size=9)
    pixels = dm.train_set.images.reshape(-1, 3) / 255.0
    mean, std = dm.channel_stats
    assert np.allclose(mean, pixels.mean(axis=0)) and np.allclose(std, pixels.std(axis=0))
    assert loaded(root, normalize=False).channel_stats is None


def test_a_constant_channel_is_not_scaled():
    images = np.zeros((4, 2, 2, 2), np.uint8)
    images[..., 1] = np.arange(4)[:, None, None] * 50
    (mean0, mean1), (std0, std1) = channel_stats(images)
    assert mean0 == 0 and std0 == 1 and std1 == pytest.approx(np.std([0, 50, 100, 150]) / 255)


@pytest.mark.parametrize(
    "datamodule",
    [MNISTDataModule, CIFAR10DataModule, DigitsCSVDataModule, FingersDataModule],
)
def test_other_datasets_ask_for_no_normalisation(datamodule):
    assert datamodule.channel_stats is None


# ---- the decoded-image cache ---------------------------------------------------------------
@pytest.fixture
def counted(monkeypatch):
    """How many files each decode read."""
    calls: list[int] = []
    real = image_folder_module.decode_images
    monkeypatch.setattr(
        image_folder_module,
        "decode_images",
        lambda files, *args: calls.append(len(files)) or real(files, *args),
    )
    return calls


def test_cache_is_reused_and_rebuilt_when_a_file_or_a_knob_changes(tmp_path, counted):
    root = tmp_path / "images"
    written = write_image_folder(root, per_class=5)
    first, _ = ImageFolderDataModule(tmp_path, root=root).read_split("train")
    again, _ = ImageFolderDataModule(tmp_path, root=root).read_split("train")
    assert counted == [15] and np.array_equal(first, again)
    assert (root / ".auglab_cache_all_32_crop_auto.npz").is_file()
    os.utime(written["all"][0][0], ns=(1, 1))  # same bytes, new mtime
    ImageFolderDataModule(tmp_path, root=root).read_split("train")
    ImageFolderDataModule(tmp_path, root=root, resize="pad").read_split("train")
    ImageFolderDataModule(tmp_path, root=root, channels=3).read_split("train")
    assert counted == [15] * 4
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(root / "cat" / "new.png")
    ImageFolderDataModule(tmp_path, root=root).read_split("train")
    assert counted == [15] * 4 + [16]


def test_unwritable_root_decodes_with_a_warning(tmp_path, monkeypatch, caplog):
    root = tmp_path / "images"
    write_image_folder(root, per_class=5)

    def read_only(*args, **kwargs):  # root ignores chmod, so refuse the way a read-only FS does
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(image_cache.tempfile, "mkstemp", read_only)
    with caplog.at_level(logging.WARNING):
        dm = loaded(root)
    assert len(dm.test_set) == 3 and "Cannot write the decoded-image cache" in caplog.text
    assert not list(root.glob(".auglab_cache_*"))


def test_skip_bad_files_leaves_them_out_with_one_warning(tmp_path, caplog):
    root = tmp_path / "images"
    write_image_folder(root, per_class=10)
    for i in range(4):
        (root / "dog" / f"broken{i}.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with caplog.at_level(logging.WARNING):
        dm = loaded(root, skip_bad_files=True)
    assert len(dm.train_set) + len(dm.val_set) + len(dm.test_set) == 30
    (line,) = [r.getMessage() for r in caplog.records if "skip_bad_files" in r.getMessage()]
    assert "left out 4 files" in line and "broken0.jpg" in line and "and 1 more" in line
