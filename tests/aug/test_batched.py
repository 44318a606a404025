"""The batched warp is albumentations' Affine/flip geometry and ElasticTransform field,
sampled from the same ranges."""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import pytest
import torch
from albumentations.augmentations.geometric.functional import (
    create_affine_transformation_matrix,
    generate_displacement_fields,
)
from hydra import compose, initialize_config_dir

from auglab.aug import build_augmentation
from auglab.aug.batched import AffineStep, BatchedAugment, affine_matrix, batched_augment
from auglab.aug.elastic import ElasticStep
from auglab.data.dataset import ArrayDataset
from auglab.data.device import DeviceBatches
from tests.helpers import REPO

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
        (A.ElasticTransform(interpolation=cv2.INTER_CUBIC), "interpolation=2 is not batched"),
        (A.ElasticTransform(border_mode=cv2.BORDER_WRAP), "ElasticTransform border_mode=3"),
        (A.ElasticTransform(border_mode=0, fill=9), "border_mode=0 fill=9.0 is not batched"),
        (
            [A.Affine(border_mode=1), A.ElasticTransform(border_mode=0)],
            "fill borders differently",
        ),
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


# ---- ElasticTransform ---------------------------------------------------------------------


def elastic(**changes) -> A.ElasticTransform:
    """conf/aug/elastic.yaml's transform (Simard's MNIST setting), with ``changes``."""
    params = dict(
        alpha=34, sigma=4, noise_distribution="uniform", interpolation=1, border_mode=1, p=1.0
    )
    return A.ElasticTransform(**{**params, **changes})


def elastic_step(transform: A.ElasticTransform) -> ElasticStep:
    fast, why_not = batched_augment(A.Compose([transform]))
    assert fast is not None, why_not
    (step,) = fast.steps
    return step


class GivenNoise:
    """A stand-in for albumentations' numpy generator that hands out a given noise field."""

    def __init__(self, noise: torch.Tensor) -> None:
        self.noise = noise.numpy().astype(np.float64)

    def uniform(self, low, high, size):
        assert (low, high, tuple(size)) == (-1, 1, self.noise.shape)
        return self.noise

    def standard_normal(self, size, dtype):
        assert tuple(size) == self.noise.shape
        return self.noise.astype(dtype)


def albumentations_fields(t: A.ElasticTransform, noise: torch.Tensor) -> np.ndarray:
    """albumentations' own (dx, dy), (2, H, W), for one image's noise field (1 or 2, H, W)."""
    dx, dy = generate_displacement_fields(
        noise.shape[1:],
        t.alpha,
        t.sigma,
        same_dxdy=t.same_dxdy,
        kernel_size=(17, 17) if t.approximate else (0, 0),
        random_generator=GivenNoise(noise),
        noise_distribution=t.noise_distribution,
    )
    return np.stack([dx, dy])


ELASTIC = {
    "preset": {},
    "gaussian noise": dict(noise_distribution="gaussian"),
    "same dxdy": dict(same_dxdy=True),
    "approximate": dict(approximate=True),
    "sigma 2.5 alpha 10": dict(sigma=2.5, alpha=10),
}


@pytest.mark.parametrize("changes", ELASTIC.values(), ids=ELASTIC.keys())
def test_elastic_displacement_is_albumentations_own_field_for_the_same_noise(changes):
    t = elastic(**changes)
    step = elastic_step(t)
    torch.manual_seed(0)
    applied, noise = step.draw(4, 29, 27)  # odd sizes; kernel (33) wider than the image
    assert applied.all() and noise.shape == (4, 1 if t.same_dxdy else 2, 29, 27)
    ours = step.displacement(noise).numpy()
    for i in range(4):
        theirs = albumentations_fields(t, noise[i])
        assert np.abs(theirs).mean() > 0.1  # a real displacement, not two zeros
        assert np.allclose(ours[i], theirs, rtol=0, atol=1e-5), np.abs(ours[i] - theirs).max()


def test_elastic_blurs_dx_and_dy_as_one_image_as_albumentations_does():
    """cv2 blurs the (2H, W) stack: dx's bottom rows leak into dy's top rows. Blurring
    the two fields apart would not match; the comparison above would see it."""
    t = elastic()
    torch.manual_seed(0)
    _, noise = elastic_step(t).draw(1, 32, 32)
    theirs = albumentations_fields(t, noise[0])
    apart = np.stack([albumentations_fields(elastic(same_dxdy=True), f[None])[0] for f in noise[0]])
    seam = np.abs(theirs - apart)
    assert seam[1, :4].max() > 1e-2  # dy's top rows differ
    assert seam[0, :4].max() < 1e-5  # dx's top rows: replicated border either way


@pytest.mark.parametrize("same_dxdy", [False, True])
def test_elastic_grid_is_the_displacement_in_grid_sample_coordinates(same_dxdy):
    step = elastic_step(elastic(same_dxdy=same_dxdy))
    torch.manual_seed(0)
    _, noise = step.draw(3, 29, 27)  # H != W: x and y normalise differently
    d, grid = step.displacement(noise), step.grid(noise)
    ys, xs = torch.meshgrid(torch.arange(29.0), torch.arange(27.0), indexing="ij")
    u = (2 * (xs + d[:, 0]) + 1) / 27 - 1  # align_corners=False: pixel centres
    v = (2 * (ys + d[:, 1]) + 1) / 29 - 1
    assert torch.allclose(grid, torch.stack([u, v], dim=-1), atol=1e-6)
    assert torch.equal(d[:, 0], d[:, 1]) == same_dxdy


def remapped_by_albumentations(
    t: A.ElasticTransform, image: np.ndarray, fields: np.ndarray
) -> np.ndarray:
    height, width = image.shape[:2]
    coords = np.stack(np.meshgrid(np.arange(width), np.arange(height)))
    maps = (coords + fields).astype(np.float32)
    out = t.apply(image, map_x=maps[0], map_y=maps[1])  # fgeometric.remap: cv2.remap
    return out.reshape(image.shape).astype(np.float64)


@pytest.mark.parametrize("border", BORDERS.values(), ids=BORDERS.keys())
@pytest.mark.parametrize("channels", [1, 3])
def test_elastic_warp_is_albumentations_remap_for_the_same_field(border, channels):
    t = elastic(border_mode=border, alpha=60)  # large: plenty of pixels sample off the image
    fast, _ = batched_augment(A.Compose([t]))
    image = asymmetric_image(channels=channels)
    torch.manual_seed(3)
    got = fast(batch_of(image))[0].permute(1, 2, 0).double().numpy() * 255
    torch.manual_seed(3)  # the same draws again: the noise the warp used
    _, noise = fast.steps[0].draw(1, 32, 32)
    expected = remapped_by_albumentations(t, image, albumentations_fields(t, noise[0]))
    # Not exact: cv2.remap's INTER_LINEAR weights are fixed point (1/32 pixel) and it
    # rounds to uint8; the batched warp keeps float32. Same tolerances as the affine warp.
    diff = np.abs(got - expected)
    assert diff.mean() < MEAN_TOLERANCE and diff.max() < MAX_TOLERANCE, (diff.mean(), diff.max())
    assert np.abs(expected - image).mean() > 10  # the distortion is large: a real comparison


def test_affine_then_elastic_is_two_resamplings_in_order_as_albumentations_applies_them():
    affine = A.Affine(rotate=30, scale=0.9, border_mode=1, p=1.0)
    t = elastic()
    fast, why_not = batched_augment(A.Compose([affine, t]))
    assert fast is not None, why_not
    assert [type(s) for s in fast.steps] == [AffineStep, ElasticStep]
    image = asymmetric_image()
    torch.manual_seed(5)
    got = fast(batch_of(image))[0].permute(1, 2, 0).double().numpy() * 255
    torch.manual_seed(5)
    fast.steps[0].sample(1, 32, 32)  # the affine step's draws come first
    _, noise = fast.steps[1].draw(1, 32, 32)
    rotated = A.Compose([affine])(image=image)["image"].reshape(image.shape)
    expected = remapped_by_albumentations(t, rotated, albumentations_fields(t, noise[0]))
    diff = np.abs(got - expected)
    # Two resamplings, each up to the single warp's error (albumentations also rounds the
    # rotated image to uint8 in between): twice the tolerances.
    assert diff.mean() < 2 * MEAN_TOLERANCE and diff.max() < 2 * MAX_TOLERANCE
    elastic_first = remapped_by_albumentations(t, image, albumentations_fields(t, noise[0]))
    elastic_first = A.Compose([affine])(image=elastic_first.astype(np.uint8))["image"]
    assert np.abs(got - elastic_first.reshape(image.shape)).mean() > 5 * MEAN_TOLERANCE


@pytest.mark.slow
@pytest.mark.parametrize("noise", ["uniform", "gaussian"])
def test_elastic_displacement_and_image_change_match_albumentations_in_distribution(noise):
    t = elastic(noise_distribution=noise)
    step = elastic_step(t)
    torch.manual_seed(0)
    ours = step.displacement(step.draw(2000, 32, 32)[1]).abs().mean(dim=(0, 2, 3)).numpy()
    t.set_random_seed(0)
    coords = np.stack(np.meshgrid(np.arange(32), np.arange(32)))
    theirs = []
    for _ in range(1000):
        maps = t.get_params_dependent_on_data({"shape": (32, 32)}, {})
        theirs.append(np.abs(np.stack([maps["map_x"], maps["map_y"]]) - coords).mean(axis=(1, 2)))
    theirs = np.mean(theirs, axis=0)
    # ~0.6% standard error on albumentations' 1000 draws, ~0.4% on ours.
    assert np.allclose(ours, theirs, rtol=0.03), (ours, theirs)
    # Uniform noise is Simard's field: ~1.5 px mean displacement at alpha 34, sigma 4.
    assert 0.5 < theirs.mean() < 3

    image = asymmetric_image()
    torch.manual_seed(1)
    fast, _ = batched_augment(A.Compose([t]))
    ours_change = fast(batch_of(image).expand(1000, -1, -1, -1)) * 255 - batch_of(image) * 255
    pipeline = A.Compose([t], seed=1)
    theirs_change = [
        np.abs(pipeline(image=image)["image"].astype(np.float64).reshape(image.shape) - image)
        for _ in range(500)
    ]
    ours_change, theirs_change = ours_change.abs().mean().item(), np.mean(theirs_change)
    assert ours_change == pytest.approx(theirs_change, rel=0.04)
    assert theirs_change > 5  # grey levels: the distortion shows


def test_elastic_probability_leaves_the_others_bit_for_bit():
    fast, _ = batched_augment(A.Compose([elastic(p=0.5)]))
    x = torch.rand(400, 1, 28, 28)
    torch.manual_seed(0)
    out = fast(x.clone())
    kept = np.array([torch.equal(out[i], x[i]) for i in range(400)])
    assert 0.4 < kept.mean() < 0.6
    moved = (out[~torch.from_numpy(kept)] - x[~torch.from_numpy(kept)]).abs()
    assert moved.amax(dim=(1, 2, 3)).min() > 1e-2  # every other image really moved
    assert out.is_contiguous()


@pytest.mark.parametrize("changes", [dict(p=0.0), dict(alpha=0)], ids=["p=0", "alpha=0"])
def test_elastic_that_cannot_move_is_the_identity(changes):
    fast, _ = batched_augment(A.Compose([elastic(**changes)]))
    x = torch.rand(16, 1, 32, 32)
    assert torch.equal(fast(x.clone()), x)


def test_elastic_reproduces_for_a_seed():
    fast, _ = batched_augment(A.Compose([A.Affine(rotate=(-20, 20), border_mode=1), elastic()]))
    x = torch.rand(16, 1, 32, 32)
    first, again, other = [], [], []
    for seed, into in ((0, first), (0, again), (1, other)):
        torch.manual_seed(seed)
        into.append(fast(x))
    assert torch.equal(first[0], again[0])
    assert not torch.equal(first[0], other[0])


def test_sample_is_each_images_matrix_and_refuses_an_elastic_pipeline():
    matrix_only, _ = batched_augment(A.Compose([A.Affine(rotate=(-20, 20))]))
    assert matrix_only.sample(5, 32, 32).shape == (5, 3, 3)
    with_elastic, _ = batched_augment(
        A.Compose([A.Affine(rotate=(-20, 20), border_mode=1), elastic()])
    )
    with pytest.raises(ValueError, match="ElasticTransform step"):
        with_elastic.sample(5, 32, 32)


def preset(*overrides: str) -> A.Compose:
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        return build_augmentation(compose("train", overrides=list(overrides)).aug)


@pytest.mark.parametrize("name", ["elastic", "[on,elastic]"])
def test_elastic_presets_plan_as_one_batched_warp(name):
    images = asymmetric_image()[None].repeat(8, axis=0)
    ds = ArrayDataset(images, np.zeros(8), transform=preset(f"aug={name}"))
    assert ds.stages.description == "one batched torch warp per batch"
    (fast,) = ds.stages.steps
    assert isinstance(fast, BatchedAugment) and ds.batched_augment is fast  # device batches too
    kinds = [type(s) for s in fast.steps]
    assert kinds == ([ElasticStep] if name == "elastic" else [AffineStep, ElasticStep])
    assert fast.steps[-1] == ElasticStep(1.0, 34.0, 4.0, 33, False, False)
    assert fast.padding_mode == "border"
    torch.manual_seed(0)
    x, _ = ds.__getitems__(list(range(8)))
    assert x.shape == (8, 1, 32, 32) and (x - batch_of(images[0])).abs().mean() > 0.02


def test_elastic_strength_half_halves_the_displacement():
    (full,) = batched_augment(preset("aug=elastic"))[0].steps
    (half,) = batched_augment(preset("aug=elastic", "aug.strength=0.5"))[0].steps
    assert (full.alpha, half.alpha) == (34.0, 17.0)
    displacement = []
    for step in (full, half):
        torch.manual_seed(0)
        displacement.append(step.displacement(step.draw(200, 32, 32)[1]).abs().mean().item())
    assert displacement[1] == pytest.approx(displacement[0] / 2, rel=1e-5)


def test_elastic_runs_in_device_batches_with_the_host_paths_draws():
    images = np.stack([asymmetric_image()] * 16)
    ds = ArrayDataset(images, np.zeros(16), transform=preset("aug=[on,elastic]"))
    batches = DeviceBatches(
        torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
        torch.zeros(16, dtype=torch.long),
        batch_size=16,
        augment=ds.batched_augment,
    )
    torch.manual_seed(0)
    (x, _), *rest = list(batches)  # sequential: one seed draw from the global generator first
    torch.manual_seed(0)
    torch.empty((), dtype=torch.int64).random_()
    host, _ = ds.__getitems__(list(range(16)))
    assert not rest and torch.equal(x, host)
    assert (x - batch_of(images[0])).abs().mean() > 0.02
