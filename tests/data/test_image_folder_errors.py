"""ImageFolderDataModule refuses each kind of bad folder in one line, before training;
a folder trains end to end, through train.py, with normalised inputs and the shift suite."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from PIL import Image

from auglab.data import ImageFolderDataModule
from auglab.errors import ConfigError
from auglab.job import build_data_and_model
from auglab.shift.shifted_sets import ShiftedSets, SuiteSpec
from tests.helpers import QUICK, REPO, train, write_image_folder


def refusal(root, **kwargs) -> str:
    with pytest.raises(ConfigError) as err:
        ImageFolderDataModule(data_dir=root.parent, root=root, **kwargs).load()
    message = str(err.value)
    assert "\n" not in message
    return message


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "images"
    write_image_folder(root, per_class=10)
    return root


def test_a_missing_root_names_the_key(tmp_path):
    message = refusal(tmp_path / "nowhere")
    assert f"data.root={tmp_path / 'nowhere'} not found" in message


def test_images_without_class_folders_are_refused(tmp_path):
    root = tmp_path / "flat"
    root.mkdir()
    Image.new("L", (8, 8)).save(root / "a.png")
    assert "holds no class folders (it holds 1 images directly)" in refusal(root)


@pytest.mark.parametrize(
    ("extra", "found"),
    [
        (["train"], "train/ but no test/"),
        (["train", "test", "val"], "train/ and test/ beside other folders (val)"),
    ],
)
def test_a_layout_neither_split_nor_class_folders_is_refused(tmp_path, extra, found):
    root = tmp_path / "images"
    for split in extra:
        write_image_folder(root / split, per_class=5)
    assert found in refusal(root)


def test_an_empty_class_folder_is_named(root):
    (root / "emu").mkdir()
    (root / "emu" / "readme.txt").write_text("no images here")
    assert f"class folder {root / 'emu'} holds no images" in refusal(root)


def test_a_class_too_small_for_the_splits_is_named_with_its_count(root):
    for extra in sorted((root / "owl").iterdir())[3:]:
        extra.unlink()
    message = refusal(root)
    assert "class 'owl' has 3 readable images" in message and "at least 4" in message
    assert "data.test_fraction=0.2 and data.val_fraction=0.2" in message


def test_a_file_that_does_not_decode_is_named(root):
    bad = root / "dog" / "truncated.png"
    bad.write_bytes((root / "dog" / "dog_000.png").read_bytes()[:60])
    message = refusal(root)
    assert str(bad) in message and "data.skip_bad_files=true" in message


def test_mixed_channels_name_a_file_of_each(root):
    colour = root / "cat" / "colour.jpg"
    Image.new("RGB", (32, 32), (200, 10, 10)).save(colour)
    message = refusal(root)
    assert str(colour) in message and "data.channels=1" in message and "data.channels=3" in message
    assert ImageFolderDataModule(root.parent, root=root, channels=3).read_split("train")


def test_train_and_test_with_other_classes_are_refused(tmp_path):
    root = tmp_path / "images"
    write_image_folder(root, per_class=6, test_per_class=2)
    shutil.rmtree(root / "test" / "owl")
    (root / "test" / "emu").mkdir()
    message = refusal(root)
    assert "only in train: owl; only in test: emu" in message


def test_one_class_is_refused(tmp_path):
    root = tmp_path / "images"
    write_image_folder(root, classes=("cat",), per_class=10)
    assert "holds one class folder (cat)" in refusal(root)


def test_mixed_sizes_need_an_image_size(tmp_path):
    root = tmp_path / "images"
    write_image_folder(root, per_class=10, sizes=((32, 32), (20, 30)))
    assert "set data.image_size" in refusal(root, image_size=None)


def test_a_size_larger_than_the_pool_names_the_pool(root):
    # 10 per class: 2 test, 2 validation, 6 left to train on, 18 in all.
    message = refusal(root, size=19)
    assert "data.size=19 is larger than the 18 training images available" in message


@pytest.mark.parametrize(
    ("knob", "message"),
    [
        ({"resize": "stretch"}, "data.resize='stretch'"),
        ({"channels": 2}, "data.channels=2"),
        ({"test_fraction": 1.5}, "data.test_fraction=1.5"),
        ({"image_size": 0}, "data.image_size=0"),
    ],
)
def test_bad_knobs_are_refused_at_once(tmp_path, knob, message):
    with pytest.raises(ConfigError, match=message):
        ImageFolderDataModule(tmp_path, root=tmp_path, **knob)


def test_the_corruption_suite_runs_on_a_colour_folder(tmp_path):
    root = tmp_path / "images"
    write_image_folder(root, per_class=10, channels=3)
    dm = ImageFolderDataModule(tmp_path, root=root)
    spec = SuiteSpec.from_config(corruptions=["shot_noise", "rotate", "fog"])
    shifted = list(ShiftedSets(keep=False).of(dm, spec))
    assert [s.name for s in shifted] == ["shot_noise", "rotate", "fog"]
    assert all(s.images.shape == (6, 32, 32, 3) and s.source == "generated" for s in shifted)


def test_the_job_normalises_inputs_with_the_folder_statistics(tmp_path):
    root = tmp_path / "images"
    write_image_folder(root, per_class=10, channels=3)
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[f"paths.output_dir={tmp_path}", "data=image_folder", f"data.root={root}"],
        )
    datamodule, model = build_data_and_model(cfg)
    mean, std = datamodule.channel_stats
    assert np.allclose(model.input_mean.flatten().numpy(), mean)
    assert np.allclose(model.input_std.flatten().numpy(), std)


@pytest.mark.slow
def test_train_py_trains_on_an_image_folder(tmp_path, run_env):
    root = tmp_path / "images"
    write_image_folder(
        root, per_class=20, test_per_class=5, channels=3, extensions=(".png", ".jpg")
    )
    out = tmp_path / "run"
    train(
        "data=image_folder",
        f"data.root={root}",
        "data.size=30",
        "trainer.max_epochs=2",
        f"hydra.run.dir={out}",
        *QUICK,
        env=run_env,
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "finished" and metrics["train_size"] == 30
    assert metrics["class_names"] == ["cat", "dog", "owl"]
    assert "Normalising inputs" in (out / "train.log").read_text()


@pytest.mark.parametrize(
    ("test_knobs", "load_knobs", "message"),
    [
        ({"channels": 3}, {}, "train/ have 1 channels but those of test/ 3"),
        ({"sizes": ((24, 24),)}, {"image_size": None}, "train/ are 32x32 but those of test/ 24x24"),
    ],
    ids=["channels", "sizes"],
)
def test_train_and_test_folders_must_agree(tmp_path, test_knobs, load_knobs, message):
    root = tmp_path / "images"
    write_image_folder(root / "train", per_class=10)
    write_image_folder(root / "test", per_class=3, **test_knobs)
    assert message in refusal(root, **load_knobs)


def test_a_broken_test_file_stops_the_run_before_training(tmp_path):
    root = tmp_path / "images"
    write_image_folder(root, per_class=10, test_per_class=3)
    bad = root / "test" / "cat" / "bad.webp"
    bad.write_bytes(b"RIFF....WEBPVP8 ")
    assert str(bad) in refusal(root)  # load() reads train only, yet test/ is checked
