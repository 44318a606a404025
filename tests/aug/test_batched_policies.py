"""RandAugment / TrivialAugmentWide / AutoAugment on whole uint8 batches, ops drawn per image.

Grouping images by (op, signed magnitude) and calling torchvision's op once per group
must give each image exactly what the op gives it alone; the draws must be v2's per
image (uniform op per slot, independent images, v2's magnitudes, the strength rule);
and ``ArrayDataset`` must plan the policies as this batch stage unless ``batched=False``.
"""

from __future__ import annotations

import logging
from collections import Counter

import albumentations as A
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from scipy.stats import chisquare
from torchvision.transforms import v2

from auglab.aug import build_augmentation
from auglab.aug.batched import BatchedAugment
from auglab.aug.policies import AutoAugment, RandAugment, TrivialAugmentWide
from auglab.aug.policy_ops import apply_grouped, apply_op
from auglab.aug.stages import BatchedPolicies
from auglab.data.dataset import ArrayDataset
from tests.helpers import REPO

RA_SPACE = list(v2.RandAugment._AUGMENTATION_SPACE)
SIGNED = [k for k, (_, signed) in v2.RandAugment._AUGMENTATION_SPACE.items() if signed]
#: torchvision's own op of its policies: the reference each image is checked against.
_v2_op = v2.RandAugment._apply_image_or_video_transform


def composed_aug(*overrides: str):
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        return compose("train", overrides=list(overrides)).aug


def varied_images(n: int = 24, channels: int = 1, size: int = 32) -> torch.Tensor:
    """uint8 (N, C, H, W), each image with its own range and mean (so autocontrast, equalize,
    contrast and sharpness differ per image) and a bright bar (so warps show). At least
    32 x 32: like PIL, equalize leaves an image of fewer than 256 pixels as it is."""
    g = torch.Generator().manual_seed(0)
    images = []
    for i in range(n):
        lo, hi = 5 * (i % 7), 60 + 7 * i
        img = torch.randint(lo, min(hi, 256), (channels, size, size), generator=g)
        img[:, 3 + i % 8 : 5 + i % 8, 2:13] = min(255, 120 + 5 * i)
        images.append(img)
    return torch.stack(images).to(torch.uint8)


def one_at_a_time(policy, images, ops):
    """What torchvision gives each image alone: the per-image reference."""
    out = []
    for img, op in zip(images, ops, strict=True):
        out.append(
            img if op is None else _v2_op(policy, img, *op, policy.interpolation, policy._fill)
        )
    return torch.stack(out)


# ---- each op, batched, equals each image alone ---------------------------------------------

OPS = [
    ("ShearX", 0.3),
    ("ShearY", 0.3),
    ("TranslateX", 4.0),
    ("TranslateY", 7.0),
    ("Rotate", 9.0),
    ("Rotate", 135.0),
    ("Brightness", 0.3),
    ("Color", 0.6),
    ("Contrast", 0.5),
    ("Sharpness", 0.9),
    ("Posterize", 5.0),
    ("Posterize", 2.0),
    ("Solarize", 0.7),
    ("AutoContrast", 0.0),
    ("Equalize", 0.0),
    ("Invert", 0.0),  # AutoAugment's
]


@pytest.mark.slow
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize(
    ("transform_id", "magnitude"),
    [(k, sign * m) for k, m in OPS for sign in ((1, -1) if k in SIGNED else (1,))],
)
def test_each_op_on_a_sub_batch_gives_each_image_what_it_gives_it_alone(
    transform_id, magnitude, interpolation, channels
):
    policy = v2.RandAugment(interpolation=interpolation, fill=None if channels == 1 else 7)
    images = varied_images(channels=channels)
    op = (transform_id, magnitude)
    # The whole batch in one call, and a group of every third image among other ops.
    whole = apply_op(images, *op, interpolation, policy.fill)
    assert torch.equal(whole, one_at_a_time(policy, images, [op] * len(images)))
    ops = [
        op if i % 3 == 0 else ("Rotate", 30.0 * (i % 2)) if i % 3 == 1 else None
        for i in range(len(images))
    ]
    mixed = apply_grouped(images, ops, interpolation, policy.fill)
    assert mixed.dtype == torch.uint8
    assert torch.equal(mixed, one_at_a_time(policy, images, ops))
    if transform_id != "Color" or channels == 3:  # colour is grey's identity
        assert not torch.equal(mixed[::3], images[::3])  # the op did something


def test_grouping_leaves_the_input_alone_and_untouched_images_as_they_are():
    policy = v2.RandAugment()
    images = varied_images()
    before = images.clone()
    ops = [("Equalize", 0.0) if i < 5 else None for i in range(len(images))]
    out = apply_grouped(images, ops, policy.interpolation, policy.fill)
    assert torch.equal(images, before)
    assert torch.equal(out[5:], images[5:]) and not torch.equal(out[:5], images[:5])
    assert apply_grouped(images, [None] * len(images), "nearest", None) is images


# ---- the draws are v2's, per image ----------------------------------------------------------


def draws(step, batches: int, n: int = 64, size: int = 32) -> list[list[list]]:
    torch.manual_seed(0)
    return [step.draw_batch(n, size, size) for _ in range(batches)]


def test_randaugment_draws_each_slots_op_uniformly_and_each_image_apart():
    step = RandAugment()
    batches = draws(step, 150)  # 9,600 images, two slots each
    for slot in range(step.num_ops):
        names = Counter(
            "Identity" if op is None else op[0] for b in batches for op in b[slot]
        )  # at strength 1 only Identity leaves an image alone
        assert set(names) == set(RA_SPACE)
        counts = [names[k] for k in RA_SPACE]
        assert chisquare(counts).pvalue > 1e-3, counts
    # Two images of one batch, and two slots of one image, agree about 1 time in 14.
    pairs = [(b[0][i], b[0][i + 1]) for b in batches for i in range(0, 64, 2)]
    same_pairs = np.mean([a == c for a, c in pairs])
    same_slots = np.mean([b[0][i] == b[1][i] for b in batches for i in range(64)])
    assert 0.04 < same_pairs < 0.11 and 0.04 < same_slots < 0.11
    # Signed ops come negative about half the time.
    signs = [op[1] < 0 for b in batches for slot in b for op in slot if op and op[0] in SIGNED]
    assert 0.47 < np.mean(signs) < 0.53


class _Recording:
    """Records the (op, magnitude) v2's own forward hands its op, leaving the image alone."""

    def __init__(self):
        self.seen: set[tuple[str, float]] = set()

    def __call__(self, image, transform_id, magnitude, interpolation, fill):
        self.seen.add((transform_id, float(magnitude)))
        return image


@pytest.mark.slow
@pytest.mark.parametrize(
    ("step", "reference", "batches"),
    [
        (RandAugment(), v2.RandAugment(), 50),
        (RandAugment(magnitude=20), v2.RandAugment(magnitude=20), 50),
        (TrivialAugmentWide(), v2.TrivialAugmentWide(), 800),  # ~560 (op, bin, sign)s
        (AutoAugment("svhn"), v2.AutoAugment(v2.AutoAugmentPolicy.SVHN), 50),
    ],
    ids=["ra", "ra20", "ta", "aa"],
)
def test_at_strength_one_the_batch_draws_v2s_own_ops_and_magnitudes(
    step, reference, batches, monkeypatch
):
    record = _Recording()
    monkeypatch.setattr(reference, "_apply_image_or_video_transform", record)
    torch.manual_seed(0)
    image = torch.zeros(1, 32, 32, dtype=torch.uint8)
    for _ in range(batches * 64):
        reference(image)
    theirs = {op for op in record.seen if op[0] != "Identity"}
    ours = {op for b in draws(step, batches) for slot in b for op in slot if op is not None}
    assert ours == theirs  # every (op, signed magnitude) v2 uses, and no other


def test_autoaugment_draws_each_sub_policys_ops_with_their_probabilities():
    step = AutoAugment("svhn")
    batches = draws(step, 200)  # 12,800 images
    policies = step.sub_policies
    # The first op's share over images: the mean probability of the sub-policies' first ops.
    share = np.mean([op is not None for b in batches for op in b[0]])
    assert abs(share - np.mean([p[0][1] for p in policies])) < 0.015
    # Each image's two ops come from one sub-policy.
    allowed = {(p[0][0], p[1][0]) for p in policies}
    pairs = {(a[0], c[0]) for b in batches for a, c in zip(*b, strict=True) if a and c}
    assert pairs <= allowed and len(pairs) > 5


def test_p_is_the_share_of_images_the_step_runs_on():
    step = RandAugment(p=0.3)
    images = varied_images(n=64)
    torch.manual_seed(0)
    changed = torch.cat(
        [(step.apply_batch(images) != images).flatten(1).any(1) for _ in range(30)]
    ).float()
    # Ops that leave an image as it is (identity, grey colour, ...) push it a bit under p.
    assert 0.24 < changed.mean() < 0.34


# ---- strength --------------------------------------------------------------------------------


@pytest.mark.parametrize("step", [RandAugment(), TrivialAugmentWide()], ids=["ra", "ta"])
def test_strength_zero_is_within_a_grey_level_per_op(step):
    step.scale_strength(0.0, "test")
    images = varied_images(n=64, size=32)
    torch.manual_seed(0)
    for _ in range(20):
        out = step.apply_batch(images)
        assert (out.int() - images.int()).abs().max() <= getattr(step, "num_ops", 1)


def test_strength_scales_the_batch_draws_as_it_scales_the_per_image_ops():
    s = 0.5
    (step,) = build_augmentation(composed_aug("aug=randaugment", f"aug.strength={s}")).transforms
    ops = {op for b in draws(step, 50) for slot in b for op in slot if op is not None}
    by_id = {}
    for transform_id, magnitude in ops:
        by_id.setdefault(transform_id, set()).add(magnitude)
    m = 9
    assert sorted(by_id["Rotate"]) == pytest.approx([-m * s, m * s])  # 1 degree a bin
    assert by_id["Posterize"] == {round(8 - s * (8 - 7))}  # bin 9 of 31 keeps 7 bits at s=1
    (solarize,) = by_id["Solarize"]
    assert solarize == pytest.approx(256 / 255 - s * (256 / 255 - (1 - m / 30)))
    # Autocontrast and equalize run on about half the images that draw them.
    n_auto = sum(
        op is not None and op[0] == "AutoContrast"
        for b in draws(step, 100)
        for sl in b
        for op in sl
    )
    assert abs(n_auto / (100 * 64 * 2 / 14) - s) < 0.06
    # And each drawn op is what the per-image path applies at that strength.
    image = varied_images(n=1)[0]
    for transform_id, magnitude in [
        ("Rotate", float(torch.linspace(0.0, 30.0, 31)[m])),
        ("Brightness", float(torch.linspace(0.0, 0.9, 31)[m])),
        ("Posterize", 7.0),
    ]:
        (scaled,) = [mg for mg in by_id[transform_id] if mg >= 0]
        alone = step.apply_scaled(image, transform_id, magnitude)
        batched = apply_op(image, transform_id, scaled, "nearest", step.fill)
        assert torch.equal(alone, batched)


# ---- reproducibility and planning ------------------------------------------------------------


def test_a_torch_seed_reproduces_the_batch_and_another_seed_does_not():
    stage = BatchedPolicies([RandAugment(), TrivialAugmentWide()])
    batch = varied_images(n=32).permute(0, 2, 3, 1).contiguous().numpy()
    runs = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        runs.append(stage(batch))
    assert runs[0].shape == batch.shape and runs[0].dtype == np.uint8
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])


@pytest.mark.parametrize("name", ["randaugment", "trivialaugment", "autoaugment"])
def test_the_policies_plan_as_a_whole_batch_stage_and_batched_false_per_image(name, caplog):
    images, labels = varied_images(n=8).permute(0, 2, 3, 1).numpy(), np.zeros(8)
    pipeline = build_augmentation(composed_aug(f"aug={name}"))
    with caplog.at_level(logging.INFO, logger="auglab.data.dataset"):
        fast = ArrayDataset(images, labels, transform=pipeline)
    (stage,) = fast.stages.steps
    assert isinstance(stage, BatchedPolicies) and stage.steps == tuple(pipeline.transforms)
    assert "on whole batches, ops drawn per image" in fast.stages.description
    assert "on whole batches, ops drawn per image" in caplog.text
    assert fast.augments_per_image and fast.batched_augment is None  # host path, not the GPU's
    slow = ArrayDataset(images, labels, transform=pipeline, batched=False)
    (compose_,) = slow.stages.steps
    assert type(compose_) is A.Compose
    assert slow.stages.description == "albumentations per image, because batched=False"


def test_a_combination_plans_warp_then_batched_policies_then_per_image():
    pipeline = build_augmentation(composed_aug("aug=[on,randaugment,trivialaugment,erasing,mixup]"))
    ds = ArrayDataset(
        varied_images(n=8).permute(0, 2, 3, 1).numpy(), np.zeros(8), transform=pipeline
    )
    warp, policies, per_image = ds.stages.steps
    assert isinstance(warp, BatchedAugment) and type(per_image) is A.Compose
    assert [type(t) for t in policies.steps] == [RandAugment, TrivialAugmentWide]
    assert (
        "RandAugment, TrivialAugmentWide on whole batches, ops drawn per image"
        in ds.stages.description
    )
    torch.manual_seed(0)
    x, y, weights = ds.__getitems__(list(range(8)))
    assert x.shape == (8, 1, 32, 32) and weights.shape == (8, 8)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["randaugment", "trivialaugment"])
def test_batched_and_per_image_paths_agree_on_the_mean_augmented_image(name):
    """Two per-image runs (seeds apart) set the noise; the batched run is no further off."""
    images = varied_images(n=1).permute(0, 2, 3, 1).numpy()
    pipeline = build_augmentation(composed_aug(f"aug={name}"))
    means = []
    for seed, batched in ((0, True), (1, False), (2, False)):
        torch.manual_seed(seed)
        ds = ArrayDataset(images, np.zeros(1), transform=pipeline, batched=batched)
        x = torch.cat([ds.__getitems__([0] * 500)[0] for _ in range(4)])
        means.append(x.mean(dim=0) * 255)
    noise = (means[1] - means[2]).abs().mean()
    plain = torch.from_numpy(images[0]).permute(2, 0, 1).float()
    assert (means[0] - means[1]).abs().mean() < 1.5 * noise
    assert (means[0] - means[2]).abs().mean() < 1.5 * noise
    assert (means[0] - plain).abs().mean() > 5 * noise  # while the policy moves things a lot
