"""Augmentation presets are yaml lists of albumentations transforms, composed by Hydra."""

from __future__ import annotations

import logging
from pathlib import Path

import albumentations as A
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from auglab.aug import build_augmentation
from auglab.errors import ConfigError
from tests.helpers import REPO

CONF = REPO / "conf"
PRESETS = sorted(p.stem for p in (CONF / "aug").glob("*.yaml"))


def composed_aug(tmp_path: Path, *overrides: str):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose("train", overrides=[f"paths.output_dir={tmp_path}", *overrides]).aug


def affine_of(pipeline: A.Compose) -> A.Affine:
    return next(t for t in pipeline.transforms if isinstance(t, A.Affine))


def test_the_issues_presets_all_exist():
    assert {"off", "on", "light", "strong", "e2", "e3", "e4"} <= set(PRESETS)


@pytest.mark.slow
@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_composes_names_itself_and_builds(tmp_path, name):
    aug = composed_aug(tmp_path, f"aug={name}")
    assert aug.name == name
    assert aug.strength >= 0
    pipeline = build_augmentation(aug)
    assert (pipeline is None) == (name == "off")


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_says_which_reference_experiment_it_is(name):
    text = (CONF / "aug" / f"{name}.yaml").read_text()
    assert text.startswith("#")
    if name in ("on", "e2", "e3", "e4"):
        assert f"E{name[1] if name != 'on' else 1}" in text and "ImageDataGenerator" in text


def test_off_is_no_pipeline(tmp_path):
    assert build_augmentation(composed_aug(tmp_path, "aug=off")) is None


def test_on_is_e1s_affine(tmp_path):
    (affine,) = build_augmentation(composed_aug(tmp_path, "aug=on")).transforms
    assert isinstance(affine, A.Affine)
    assert affine.rotate == (-45, 45)
    assert affine.scale == {"x": (0.6, 1.4), "y": (0.6, 1.4)}
    assert affine.shear == {"x": (-0.6, 0.6), "y": (0, 0)}
    assert affine.border_mode == 1  # replicate = Keras "nearest"


def test_e2_is_small_rotation_zoom_and_shift_without_flips(tmp_path):
    (affine,) = build_augmentation(composed_aug(tmp_path, "aug=e2")).transforms
    assert affine.rotate == (-10, 10)
    assert affine.scale == {"x": (0.95, 1.05), "y": (0.95, 1.05)}
    assert affine.translate_percent == {"x": (-0.05, 0.05), "y": (-0.05, 0.05)}
    assert affine.border_mode == 1


def test_e3_is_shift_and_horizontal_flip(tmp_path):
    affine, flip = build_augmentation(composed_aug(tmp_path, "aug=e3")).transforms
    assert affine.translate_percent == {"x": (-0.1, 0.1), "y": (-0.1, 0.1)}
    assert affine.rotate == (0, 0) and affine.scale == {"x": (1, 1), "y": (1, 1)}
    assert isinstance(flip, A.HorizontalFlip) and flip.p == 0.5


def test_e4_is_rotation_and_shift_without_flips(tmp_path):
    (affine,) = build_augmentation(composed_aug(tmp_path, "aug=e4")).transforms
    assert affine.rotate == (-25, 25)
    assert affine.translate_percent == {"x": (-0.1, 0.1), "y": (-0.1, 0.1)}


@pytest.mark.slow
@pytest.mark.parametrize(("name", "factor"), [("light", 0.5), ("strong", 1.5)])
def test_light_and_strong_are_e1s_ranges_scaled(tmp_path, name, factor):
    aug = composed_aug(tmp_path, f"aug={name}")
    assert aug.strength == factor
    assert aug.transforms == composed_aug(tmp_path, "aug=on").transforms  # one source of truth
    affine = affine_of(build_augmentation(aug))
    assert affine.rotate == pytest.approx((-45 * factor, 45 * factor))
    assert affine.shear["x"] == pytest.approx((-0.6 * factor, 0.6 * factor))
    assert affine.scale["x"] == pytest.approx((1 - 0.4 * factor, 1 + 0.4 * factor))
    assert affine.scale["y"] == pytest.approx((1 - 0.4 * factor, 1 + 0.4 * factor))


def test_strength_from_the_command_line_overrides_a_presets_own(tmp_path):
    aug = composed_aug(tmp_path, "aug=light", "aug.strength=1")
    assert aug.name == "light"
    assert affine_of(build_augmentation(aug)).rotate == (-45, 45)


def test_on_at_half_strength_composes(tmp_path):
    aug = composed_aug(tmp_path, "aug=on", "aug.strength=0.5")
    assert aug.name == "on" and aug.strength == 0.5
    assert affine_of(build_augmentation(aug)).rotate == pytest.approx((-22.5, 22.5))


@pytest.mark.slow
def test_strength_composes_with_off_and_scaling_nothing_says_so(tmp_path, caplog):
    for strength in ("0", "1"):
        off = composed_aug(tmp_path, "aug=off", f"aug.strength={strength}")
        assert build_augmentation(off) is None
    assert "nothing to scale" not in caplog.text
    with caplog.at_level(logging.WARNING, logger="auglab.aug.pipeline"):
        assert build_augmentation(composed_aug(tmp_path, "aug=off", "aug.strength=1.5")) is None
    assert "aug.strength=1.5 has nothing to scale" in caplog.text
    assert "aug=on aug.strength=1.5" in caplog.text


@pytest.mark.slow
@pytest.mark.parametrize("name", PRESETS)
def test_strength_zero_is_no_augmentation_for_every_preset(tmp_path, name):
    assert build_augmentation(composed_aug(tmp_path, f"aug={name}", "aug.strength=0")) is None


def test_negative_strength_from_the_command_line_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"aug.strength=-0.5 must be a number >= 0"):
        build_augmentation(composed_aug(tmp_path, "aug=on", "aug.strength=-0.5"))


def test_on_moves_pixels_keeps_shape_and_is_seeded(tmp_path):
    image = np.zeros((32, 32, 1), dtype=np.uint8)
    image[8:24, 14:18] = 255
    pipeline = build_augmentation(composed_aug(tmp_path, "aug=on"))
    pipeline.set_random_seed(1)
    first = pipeline(image=image)["image"]
    pipeline.set_random_seed(1)
    again = pipeline(image=image)["image"]
    assert first.shape[:2] == (32, 32) and first.dtype == np.uint8
    assert not np.array_equal(first.reshape(32, 32), image.reshape(32, 32))
    assert np.array_equal(first, again)


def test_a_bad_transform_argument_is_a_config_error():
    bad = OmegaConf.create({"transforms": [{"_target_": "albumentations.Affine", "rotat": 10}]})
    with pytest.raises(ConfigError, match=r"aug.transforms\[0\]"):
        build_augmentation(bad)
