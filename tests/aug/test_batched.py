"""The batched warp is albumentations' Affine/flip geometry, sampled from the same ranges."""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import pytest
import torch
from albumentations.augmentations.geometric.functional import (
    create_affine_transformation_matrix,
)

from auglab.aug.batched import AffineStep, affine_matrix, batched_augment

# Tolerance of the image comparisons, in grey levels (0-255). The batched warp
# keeps float32 values, albumentations rounds to uint8 (up to 0.5). cv2's
# INTER_LINEAR also quantises the source coordinate to 1/32 pixel
# (INTER_BITS=5): across a full 0->255 edge that moves a value by up to
# 255/64 ~ 4 levels. So: mean below half a level, no pixel off by more than 4.5.
MEAN_TOLERANCE, MAX_TOLERANCE = 0.5, 4.5


def asymmetric_image(size: int = 32, channels: int = 1) -> np.ndarray:
    """An "L" with a bar on top, on a noisy background: no flip or turn maps it to itself."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 60, size=(size, size, channels)).astype(np.uint8)
    image[5:26, 7:12] = 250
    image[21:26, 7:22] = 180
    image[3:6, 14:28] = 120
    return image


def batch_of(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1)[None].float().div(255)


def albumentations_and_batched(image: np.ndarray, transform) -> tuple[np.ndarray, np.ndarray]:
    pipeline = A.Compose([transform])
    expected = pipeline(image=image)["image"].reshape(image.shape).astype(np.float64)
    fast, why_not = batched_augment(pipeline)
    assert fast is not None, why_not
    got = fast(batch_of(image))[0].permute(1, 2, 0).double().numpy() * 255
    return got, expected


FIXED = {
    "rotate 30": dict(rotate=30),
    "scale 1.2": dict(scale=1.2),
    "scale x 0.7 y 1.3": dict(scale={"x": 0.7, "y": 1.3}),
    "shift 0.1": dict(translate_percent=0.1),
    "shift 3px -2px": dict(translate_px={"x": 3, "y": -2}),
    "shear x 20": dict(shear={"x": 20, "y": 0}),
    "shear y -15": dict(shear={"x": 0, "y": -15}),
    "all at once": dict(
        rotate=30,
        scale={"x": 1.2, "y": 0.9},
        translate_percent={"x": 0.1, "y": -0.07},
        shear={"x": 15, "y": -5},
    ),
}
BORDERS = {"replicate": cv2.BORDER_REPLICATE, "reflect": cv2.BORDER_REFLECT, "zeros": 0}


@pytest.mark.parametrize("border", BORDERS.values(), ids=BORDERS.keys())
@pytest.mark.parametrize("params", FIXED.values(), ids=FIXED.keys())
def test_batched_warp_matches_albumentations_affine_for_fixed_parameters(params, border):
    image = asymmetric_image()
    got, expected = albumentations_and_batched(
        image, A.Affine(**params, border_mode=border, interpolation=cv2.INTER_LINEAR, p=1.0)
    )
    diff = np.abs(got - expected)
    assert diff.mean() < MEAN_TOLERANCE and diff.max() < MAX_TOLERANCE, (diff.mean(), diff.max())


def test_batched_warp_matches_albumentations_on_three_channels_and_odd_sizes():
    image = asymmetric_image(size=29, channels=3)[:, :27]  # 29 x 27: centre off the grid
    got, expected = albumentations_and_batched(
        image, A.Affine(rotate=-40, scale=0.8, shear=10, border_mode=1, p=1.0)
    )
    diff = np.abs(got - expected)
    assert diff.mean() < MEAN_TOLERANCE and diff.max() < MAX_TOLERANCE


@pytest.mark.parametrize("param", ["rotate", "shear", "translate_percent"])
def test_a_positive_value_moves_pixels_the_way_albumentations_does(param):
    """The comparison is sensitive: the opposite sign lands far from albumentations."""
    image = asymmetric_image()
    value = {"rotate": 25, "shear": {"x": 25, "y": 0}, "translate_percent": 0.15}[param]
    flipped = {"rotate": -25, "shear": {"x": -25, "y": 0}, "translate_percent": -0.15}[param]
    same, expected = albumentations_and_batched(image, A.Affine(**{param: value}, p=1.0))
    opposite, _ = albumentations_and_batched(image, A.Affine(**{param: flipped}, p=1.0))
    assert np.abs(same - expected).mean() < MEAN_TOLERANCE
    assert np.abs(opposite - expected).mean() > 10 * MEAN_TOLERANCE


def test_a_positive_quarter_turn_is_counter_clockwise_and_exact():
    image = asymmetric_image()
    got, expected = albumentations_and_batched(image, A.Affine(rotate=90, p=1.0))
    assert np.allclose(got, np.rot90(image), atol=1e-3)  # pixel centres map onto pixel centres
    assert np.array_equal(expected, np.rot90(image))


@pytest.mark.parametrize("flip", [A.HorizontalFlip, A.VerticalFlip])
def test_flips_are_exact_pixel_permutations(flip):
    image = asymmetric_image(channels=3)
    got, expected = albumentations_and_batched(image, flip(p=1.0))
    assert np.allclose(got, expected, atol=1e-3)
    assert not np.allclose(got, image, atol=1)


def test_steps_compose_in_pipeline_order():
    image = asymmetric_image()
    pipeline = A.Compose(
        [A.HorizontalFlip(p=1.0), A.Affine(translate_px={"x": 4, "y": 0}, border_mode=1, p=1.0)]
    )
    expected = pipeline(image=image)["image"].reshape(image.shape)
    fast, _ = batched_augment(pipeline)
    got = fast(batch_of(image))[0].permute(1, 2, 0).numpy() * 255
    assert np.allclose(got, expected, atol=1e-3)


@pytest.mark.parametrize("params", FIXED.values(), ids=FIXED.keys())
def test_matrix_is_albumentations_own_matrix(params):
    shape = (32, 40)
    t = A.Affine(**params)
    percent = t.translate_percent is not None
    shift = t.translate_percent if percent else t.translate_px
    draw = {
        "rotate": t.rotate[0],
        "shear_x": t.shear["x"][0],
        "shear_y": t.shear["y"][0],
        "scale_x": t.scale["x"][0],
        "scale_y": t.scale["y"][0],
        "translate_x": int(shift["x"][0] * shape[1]) if percent else shift["x"][0],
        "translate_y": int(shift["y"][0] * shape[0]) if percent else shift["y"][0],
    }
    ours = affine_matrix(**{k: np.array([v]) for k, v in draw.items()}, size=shape)
    theirs = create_affine_transformation_matrix(
        translate={"x": draw["translate_x"], "y": draw["translate_y"]},
        shear={"x": -draw["shear_x"], "y": -draw["shear_y"]},  # albumentations negates on draw
        scale={"x": draw["scale_x"], "y": draw["scale_y"]},
        rotate=draw["rotate"],
        shift=(shape[1] / 2 - 0.5, shape[0] / 2 - 0.5),
    )
    assert np.allclose(ours[0], theirs, atol=1e-9)


def e1_step(**changes) -> AffineStep:
    ranges = dict(
        p=1.0,
        rotate=(-45.0, 45.0),
        shear_x=(-0.6, 0.6),
        shear_y=(0.0, 0.0),
        scale_x=(0.6, 1.4),
        scale_y=(0.6, 1.4),
        keep_ratio=False,
        translate_x=(-0.1, 0.1),
        translate_y=(-0.05, 0.05),
        translate_in_percent=True,
    )
    return AffineStep(**{**ranges, **changes})


def test_draws_cover_the_configured_ranges_and_stay_inside():
    torch.manual_seed(0)
    d = e1_step().draw(20_000, 32, 32)
    for name, (lo, hi) in [
        ("rotate", (-45, 45)),
        ("shear_x", (-0.6, 0.6)),
        ("scale_x", (0.6, 1.4)),
        ("scale_y", (0.6, 1.4)),
    ]:
        values = d[name]
        span = hi - lo
        assert lo <= values.min() < lo + 0.01 * span, name
        assert hi - 0.01 * span < values.max() <= hi, name
    assert np.array_equal(d["shear_y"], np.zeros(20_000))
    assert not np.array_equal(d["scale_x"], d["scale_y"])  # drawn independently, as Keras' zoom
    # Shifts are whole pixels, truncated towards 0 as albumentations does: 0.1 * 32 -> -3..3.
    assert set(d["translate_x"].tolist()) == {-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0}
    assert set(d["translate_y"].tolist()) == {-1.0, 0.0, 1.0}


def test_keep_ratio_draws_one_zoom_and_pixel_shifts_include_both_ends():
    torch.manual_seed(0)
    step = e1_step(keep_ratio=True, translate_x=(-2, 3), translate_in_percent=False)
    d = step.draw(5_000, 32, 32)
    assert np.array_equal(d["scale_x"], d["scale_y"])
    assert set(d["translate_x"].tolist()) == {-2.0, -1.0, 0.0, 1.0, 2.0, 3.0}


def test_probability_decides_how_many_images_move():
    torch.manual_seed(0)
    pipeline = A.Compose([A.HorizontalFlip(p=0.25), A.Affine(rotate=(-10, 10), p=0.5)])
    fast, _ = batched_augment(pipeline)
    h_flipped = fast.steps[0].sample(20_000, 32, 32)[:, 0, 0] < 0
    rotated = fast.steps[1].sample(20_000, 32, 32)[:, 0, 1] != 0
    assert abs(h_flipped.mean() - 0.25) < 0.02
    assert abs(rotated.mean() - 0.5) < 0.02


def test_identity_draws_leave_the_batch_bit_for_bit():
    fast, _ = batched_augment(
        A.Compose([A.Affine(rotate=0, scale=1, shear=0, p=1.0), A.HorizontalFlip(p=0.0)])
    )
    x = torch.rand(16, 1, 32, 32)
    assert torch.equal(fast(x.clone()), x)


@pytest.mark.parametrize(
    ("transform", "reason"),
    [
        (A.RandomBrightnessContrast(), "RandomBrightnessContrast has no batched equivalent"),
        (A.Affine(rotate=10, interpolation=cv2.INTER_CUBIC), "interpolation=2"),
        (A.Affine(rotate=10, fill=7), "border_mode=0 fill=7"),
        (A.Affine(rotate=10, fit_output=True), "fit_output"),
        ([A.Affine(border_mode=1), A.Affine(border_mode=0)], "fill borders differently"),
    ],
)
def test_what_it_cannot_reproduce_is_left_to_albumentations_with_a_reason(transform, reason):
    transforms = transform if isinstance(transform, list) else [transform]
    fast, why_not = batched_augment(A.Compose(transforms))
    assert fast is None and reason in why_not


def test_in_a_mixed_batch_the_images_left_alone_are_bit_for_bit():
    torch.manual_seed(0)
    fast, _ = batched_augment(A.Compose([A.HorizontalFlip(p=0.5)]))
    x = torch.rand(32, 1, 28, 28)  # 28: pixel centres are not dyadic, resampling would show
    out = fast(x.clone())
    kept = [i for i in range(32) if torch.equal(out[i], x[i])]
    flipped = [i for i in range(32) if torch.allclose(out[i], x[i].flip(-1), atol=1e-5)]
    assert 0 < len(kept) < 32 and sorted(kept + flipped) == list(range(32))
