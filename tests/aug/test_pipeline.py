"""Augmentation presets are yaml lists of albumentations transforms."""

from __future__ import annotations

import albumentations as A
import numpy as np
import pytest
from omegaconf import OmegaConf

from auglab.aug import build_augmentation
from auglab.errors import ConfigError
from tests.helpers import REPO


def preset(name: str):
    return OmegaConf.load(REPO / "conf" / "aug" / f"{name}.yaml")


def test_off_is_no_pipeline():
    assert build_augmentation(preset("off")) is None


def test_on_is_e1s_affine():
    pipeline = build_augmentation(preset("on"))
    (affine,) = pipeline.transforms
    assert isinstance(affine, A.Affine)
    assert affine.rotate == (-45, 45)
    assert affine.scale == {"x": (0.6, 1.4), "y": (0.6, 1.4)}
    assert affine.shear == {"x": (-0.6, 0.6), "y": (0, 0)}
    assert affine.border_mode == 1  # replicate = Keras "nearest"


def test_on_moves_pixels_keeps_shape_and_is_seeded():
    image = np.zeros((32, 32, 1), dtype=np.uint8)
    image[8:24, 14:18] = 255
    pipeline = build_augmentation(preset("on"))
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
