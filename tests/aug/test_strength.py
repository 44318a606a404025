"""``aug.strength`` scales every range of a preset about the identity, flips by probability."""

from __future__ import annotations

import albumentations as A
import pytest
from omegaconf import OmegaConf

from auglab.aug import build_augmentation
from auglab.aug.batched import batched_augment
from auglab.errors import ConfigError


def preset(strength, *transforms: dict):
    return OmegaConf.create({"name": "t", "strength": strength, "transforms": list(transforms)})


E1 = {
    "_target_": "albumentations.Affine",
    "rotate": [-45, 45],
    "shear": {"x": [-0.6, 0.6], "y": [0, 0]},
    "scale": {"x": [0.6, 1.4], "y": [0.6, 1.4]},
    "border_mode": 1,
    "p": 1.0,
}
SHIFT = {
    "_target_": "albumentations.Affine",
    "translate_percent": {"x": [-0.1, 0.1], "y": [-0.05, 0.05]},
    "border_mode": 1,
    "p": 1.0,
}
FLIP = {"_target_": "albumentations.HorizontalFlip", "p": 0.5}


@pytest.mark.parametrize("s", [0.5, 1.0, 1.5])
def test_strength_scales_rotation_shear_and_zoom_deviation_linearly(s):
    (affine,) = build_augmentation(preset(s, E1)).transforms
    assert affine.rotate == pytest.approx((-45 * s, 45 * s))
    assert affine.shear["x"] == pytest.approx((-0.6 * s, 0.6 * s))
    assert affine.shear["y"] == pytest.approx((0, 0))
    assert affine.scale["x"] == pytest.approx((1 - 0.4 * s, 1 + 0.4 * s))
    assert affine.p == 1.0  # ranges shrink, the transform still always runs


def test_strength_one_and_a_half_reaches_e1s_zoom_of_0_4_to_1_6():
    (affine,) = build_augmentation(preset(1.5, E1)).transforms
    assert affine.scale["y"] == pytest.approx((0.4, 1.6))
    assert affine.shear["x"] == pytest.approx((-0.9, 0.9))


@pytest.mark.parametrize("s", [0.5, 1.0, 1.5])
def test_strength_scales_shift_fractions(s):
    (affine,) = build_augmentation(preset(s, SHIFT)).transforms
    assert affine.translate_percent["x"] == pytest.approx((-0.1 * s, 0.1 * s))
    assert affine.translate_percent["y"] == pytest.approx((-0.05 * s, 0.05 * s))


def test_strength_scales_pixel_shifts():
    spec = {"_target_": "albumentations.Affine", "translate_px": {"x": [-4, 4], "y": [0, 2]}}
    (affine,) = build_augmentation(preset(0.5, spec)).transforms
    assert affine.translate_px == {"x": (-2, 2), "y": (0, 1)}


@pytest.mark.parametrize(("s", "p"), [(0.5, 0.25), (1.0, 0.5), (1.5, 0.5), (3.0, 0.5)])
def test_flip_probability_scales_and_is_capped_at_the_presets_value(s, p):
    _, flip = build_augmentation(preset(s, SHIFT, FLIP)).transforms
    assert flip.p == pytest.approx(p)


def test_shift_scale_rotate_is_scaled_too():
    spec = {
        "_target_": "albumentations.ShiftScaleRotate",
        "shift_limit": 0.1,
        "scale_limit": 0.2,
        "rotate_limit": 30,
        "p": 1.0,
    }
    (t,) = build_augmentation(preset(0.5, spec)).transforms
    assert t.rotate == pytest.approx((-15, 15))
    assert t.scale["x"] == pytest.approx((0.9, 1.1))
    assert t.translate_percent["x"] == pytest.approx((-0.05, 0.05))


@pytest.mark.parametrize("s", [0.5, 1.5])
def test_the_batched_sampler_reads_the_scaled_ranges(s):
    fast, _ = batched_augment(build_augmentation(preset(s, E1, SHIFT, FLIP)))
    e1, shift, flip = fast.steps
    assert e1.rotate == pytest.approx((-45 * s, 45 * s))
    assert e1.scale_x == pytest.approx((1 - 0.4 * s, 1 + 0.4 * s))
    assert e1.shear_x == pytest.approx((-0.6 * s, 0.6 * s))
    assert shift.translate_x == pytest.approx((-0.1 * s, 0.1 * s))
    assert flip.p == pytest.approx(min(0.5 * s, 0.5))


def test_a_transform_strength_cannot_scale_is_a_config_error_naming_it():
    noise = {"_target_": "albumentations.RandomBrightnessContrast", "p": 0.5}
    with pytest.raises(ConfigError, match=r"aug.transforms\[1\].*RandomBrightnessContrast"):
        build_augmentation(preset(0.5, E1, noise))


def test_strength_one_builds_any_albumentations_transform():
    noise = {"_target_": "albumentations.RandomBrightnessContrast", "p": 0.5}
    _, extra = build_augmentation(preset(1.0, E1, noise)).transforms
    assert isinstance(extra, A.RandomBrightnessContrast)


@pytest.mark.parametrize("bad", [-1, -0.01, "strong", True, float("nan"), None])
def test_strength_must_be_a_number_at_least_zero(bad):
    with pytest.raises(ConfigError, match="aug.strength=.* must be a number >= 0"):
        build_augmentation(preset(bad, E1))


def test_strength_defaults_to_one_when_a_preset_omits_it():
    spec = OmegaConf.create({"transforms": [E1]})
    (affine,) = build_augmentation(spec).transforms
    assert affine.rotate == (-45, 45)
