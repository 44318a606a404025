"""FingersDataModule: labels from names, the decoded-image cache, resizing, refusals."""

from __future__ import annotations

import json
import logging
import os
import shutil

import numpy as np
import pytest
from PIL import Image

import auglab.data.fingers as fingers_module
import auglab.data.image_cache as image_cache
from auglab.data import FingersDataModule
from auglab.errors import ConfigError
from tests.data.formats import finger_image, write_fingers
from tests.helpers import train

N_TRAIN, N_TEST = 60, 24


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("fingers_src")
    return root, write_fingers(root, n_train=N_TRAIN, n_test=N_TEST, seed=0)


@pytest.fixture
def fingers(written, tmp_path):
    """A fresh copy per test, so cache files never leak between tests."""
    source, names = written
    root = tmp_path / "fingers"
    shutil.copytree(source, root)
    return root, names


def loaded(root, **kwargs) -> FingersDataModule:
    dm = FingersDataModule(data_dir=root.parent, path=root, **kwargs)
    dm.prepare_data()
    dm.setup()
    return dm


def test_count_labels_and_images_come_from_the_files(fingers):
    root, names = fingers
    dm = FingersDataModule(data_dir=root.parent, path=root)
    images, labels = dm.read_split("test")
    assert labels.tolist() == [count for _, count, _ in names["test"]]
    first = np.asarray(Image.open(root / "test" / names["test"][0][0]))
    assert images.shape == (N_TEST, 128, 128, 1) and images.dtype == np.uint8
    assert np.array_equal(images[0, ..., 0], first)


def test_count_target_has_six_classes_and_128x128_inputs(fingers):
    root, _ = fingers
    dm = loaded(root)
    assert list(dm.class_names) == ["0", "1", "2", "3", "4", "5"] and dm.num_classes == 6
    assert dm.input_shape == (1, 128, 128)
    assert len(dm.train_set) == 48 and len(dm.val_set) == 12 and len(dm.test_set) == N_TEST


def test_hand_target_has_classes_l_and_r(fingers):
    root, names = fingers
    dm = FingersDataModule(data_dir=root.parent, path=root, target="hand")
    _, labels = dm.read_split("train")
    assert list(dm.class_names) == ["L", "R"] and dm.num_classes == 2
    assert labels.tolist() == ["LR".index(hand) for _, _, hand in names["train"]]


def test_validation_is_stratified_and_seeded(fingers):
    root, _ = fingers
    a, b, c = loaded(root, seed=0), loaded(root, seed=0), loaded(root, seed=1)
    assert np.bincount(a.val_set.labels.numpy()).tolist() == [2] * 6
    assert np.array_equal(a.val_set.images, b.val_set.images)
    assert not np.array_equal(a.val_set.images, c.val_set.images)


def test_image_size_downscales_with_block_means(fingers):
    root, names = fingers
    dm = loaded(root, image_size=32)
    assert dm.input_shape == (1, 32, 32)
    images, _ = dm.read_split("test")
    full = np.asarray(Image.open(root / "test" / names["test"][0][0]), dtype=np.float64)
    block_means = full.reshape(32, 4, 32, 4).mean(axis=(1, 3))
    assert np.abs(images[0, ..., 0] - block_means).max() <= 1


def test_size_subsets_and_too_large_size_is_refused(fingers):
    root, _ = fingers
    assert len(loaded(root, size=12).train_set) == 12
    with pytest.raises(ConfigError, match=r"data.size=49 is larger than the 48 training images"):
        loaded(root, size=49)


def test_first_load_writes_the_cache_and_the_second_never_decodes(fingers, monkeypatch):
    root, _ = fingers
    dm = FingersDataModule(data_dir=root.parent, path=root, image_size=32)
    images, _ = dm.read_split("train")
    assert (root / ".auglab_cache_train_32.npz").is_file()

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded a PNG although the cache is up to date")

    monkeypatch.setattr(fingers_module.Image, "open", no_decoding)
    again, _ = FingersDataModule(data_dir=root.parent, path=root, image_size=32).read_split("train")
    assert np.array_equal(images, again)


def test_cache_is_rebuilt_when_a_file_is_added_or_changed(fingers):
    root, _ = fingers
    dm = FingersDataModule(data_dir=root.parent, path=root)
    images, _ = dm.read_split("test")
    extra = root / "test" / "ffffffff-0000-4000-8000-000000000000_2L.png"
    Image.fromarray(finger_image(2, "L", 128, np.random.default_rng(9)), mode="L").save(extra)
    grown, labels = dm.read_split("test")
    assert len(grown) == N_TEST + 1 and labels[-1] == 2

    Image.fromarray(np.full((128, 128), 7, np.uint8), mode="L").save(extra)
    os.utime(extra, ns=(1, 1))  # a different mtime even on coarse-clock file systems
    changed, _ = dm.read_split("test")
    assert np.all(changed[-1] == 7)
    assert np.array_equal(changed[:-1], images)


def test_touching_a_file_rebuilds_the_cache_and_an_untouched_folder_does_not(fingers, monkeypatch):
    root, names = fingers
    decoded = []
    real_decode = fingers_module._decode
    monkeypatch.setattr(
        fingers_module,
        "_decode",
        lambda files, size: decoded.append(len(files)) or real_decode(files, size),
    )
    dm = FingersDataModule(data_dir=root.parent, path=root)
    dm.read_split("test")
    dm.read_split("test")
    assert decoded == [N_TEST]
    os.utime(root / "test" / names["test"][3][0], ns=(1, 1))  # same bytes, new mtime
    dm.read_split("test")
    assert decoded == [N_TEST, N_TEST]


def test_unreadable_cache_is_replaced(fingers, caplog):
    root, _ = fingers
    dm = FingersDataModule(data_dir=root.parent, path=root)
    images, _ = dm.read_split("test")
    dm.cache_file("test").write_bytes(b"not a zip")
    with caplog.at_level(logging.WARNING):
        again, _ = dm.read_split("test")
    assert np.array_equal(images, again) and "unreadable cache" in caplog.text
    with np.load(dm.cache_file("test")) as stored:
        assert np.array_equal(stored["images"], images)


def test_unwritable_folder_falls_back_to_no_cache_with_a_warning(fingers, monkeypatch, caplog):
    root, _ = fingers

    def read_only(*args, **kwargs):  # root ignores chmod, so refuse the way a read-only FS does
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(image_cache.tempfile, "mkstemp", read_only)
    with caplog.at_level(logging.WARNING):
        dm = loaded(root)
    assert len(dm.train_set) == 48
    assert "Cannot write the decoded-image cache" in caplog.text and str(root) in caplog.text
    assert not list(root.glob(".auglab_cache_*"))


def test_cache_false_writes_nothing(fingers):
    root, _ = fingers
    loaded(root, cache=False)
    assert not list(root.glob(".auglab_cache_*"))


def test_misnamed_file_is_refused_by_name(fingers):
    root, _ = fingers
    bad = root / "train" / "hand_7L.png"
    Image.fromarray(np.zeros((128, 128), np.uint8), mode="L").save(bad)
    with pytest.raises(ConfigError, match=r"hand_7L\.png is not named <id>_<count><L\|R>\.png"):
        loaded(root)


@pytest.mark.parametrize(
    ("mode", "fmt"), [("RGB", "PNG"), ("I;16", "PNG"), ("L", "JPEG")], ids=["rgb", "16-bit", "jpeg"]
)
def test_non_greyscale_png_is_refused_by_name(fingers, mode, fmt):
    root, _ = fingers
    bad = root / "test" / "00000000-0000-4000-8000-000000000000_1R.png"
    Image.new(mode, (128, 128)).save(bad, format=fmt)
    with pytest.raises(ConfigError) as err:
        FingersDataModule(data_dir=root.parent, path=root).read_split("test")
    assert str(bad) in str(err.value) and "8-bit greyscale PNG (mode L)" in str(err.value)


def test_image_of_another_size_is_refused_by_name(fingers):
    root, _ = fingers
    odd = root / "test" / "ffffffff-0000-4000-8000-000000000000_0L.png"
    Image.fromarray(np.zeros((64, 64), np.uint8), mode="L").save(odd)
    with pytest.raises(ConfigError, match=r"_0L\.png is 64x64 but .* is 128x128.*data.image_size"):
        FingersDataModule(data_dir=root.parent, path=root).read_split("test")


def test_missing_folder_names_it_and_the_key(tmp_path):
    dm = FingersDataModule(data_dir=tmp_path)
    with pytest.raises(ConfigError) as err:
        dm.prepare_data()
    assert str(tmp_path / "fingers" / "train") in str(err.value) and "data.path" in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"target": "thumb"}, "data.target='thumb'"), ({"image_size": 0}, "data.image_size=0")],
)
def test_bad_target_or_image_size_is_refused(tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        FingersDataModule(data_dir=tmp_path, **kwargs)


@pytest.mark.slow
def test_train_py_runs_lenet5_on_32x32_fingers(fingers, run_env, tmp_path):
    root, _ = fingers
    out = tmp_path / "run"
    train(
        "data=fingers",
        f"data.path={root}",
        "data.image_size=32",
        "model=lenet5",
        "debug=fast_dev_run",
        f"hydra.run.dir={out}",
        env=run_env,
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_size"] == 48
    assert (root / ".auglab_cache_train_32.npz").is_file()
