"""The policy zoo: elastic, RandAugment, TrivialAugment, AutoAugment, erasing, MixUp, CutMix.

Each preset composes through Hydra, trains, is no augmentation at strength 0,
reproduces from the seed, draws per image (or per batch for the mixers) and
refuses a strength it cannot honour in one line; presets combine with
``aug=[on,erasing]`` and the affine part still runs as the batched warp.
"""

from __future__ import annotations

import logging
from functools import partial

import albumentations as A
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from torch import nn
from torchvision.transforms import v2

from auglab.aug import build_augmentation, preset_name
from auglab.aug.batched import BatchedAugment
from auglab.aug.mix import BatchMix, CutMix, MixUp
from auglab.aug.policies import AutoAugment, RandAugment, TrivialAugmentWide
from auglab.callbacks import RunPictures
from auglab.data.dataset import ArrayDataset
from auglab.errors import ConfigError
from auglab.models import ImageClassifier
from auglab.models.nets import MLP
from tests.data.toy import ToyData
from tests.helpers import REPO, quiet_trainer

CONF = REPO / "conf"
POLICIES = ["elastic", "randaugment", "trivialaugment", "autoaugment", "erasing"]
MIXERS = ["mixup", "cutmix"]
NEW = POLICIES + MIXERS
STEP = {
    "elastic": A.ElasticTransform,
    "randaugment": RandAugment,
    "trivialaugment": TrivialAugmentWide,
    "autoaugment": AutoAugment,
    "erasing": v2.RandomErasing,  # checked through the wrapper's op below
    "mixup": MixUp,
    "cutmix": CutMix,
}


def composed_aug(*overrides: str):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose("train", overrides=list(overrides)).aug


def digits(n: int = 32, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-like: dark noise, a white bar whose row is the class (so warps and colour ops show)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 40, size=(n, size, size, 1), dtype=np.uint8)
    labels = np.arange(n) % 3
    for i, label in enumerate(labels):
        images[i, 3 + 3 * label : 5 + 3 * label, 3:13] = 255
    return images, labels


def dataset(*overrides: str, n: int = 32) -> ArrayDataset:
    return ArrayDataset(*digits(n), transform=build_augmentation(composed_aug(*overrides)))


def draws(ds: ArrayDataset, seed: int, indices: list[int]) -> tuple[torch.Tensor, ...]:
    torch.manual_seed(seed)
    return ds.__getitems__(indices)


# ---- every preset -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", NEW)
def test_every_new_preset_composes_names_itself_and_builds_its_step(name):
    aug = composed_aug(f"aug={name}")
    assert aug.name == name == preset_name(aug) and aug.strength == 1.0
    (step,) = build_augmentation(aug).transforms
    if name == "erasing":
        assert isinstance(step._op, STEP[name])
    else:
        assert isinstance(step, STEP[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", [*NEW, "[on,erasing]", "[on,cutmix]"])
def test_every_new_preset_trains_with_its_pictures(tmp_path, name):
    aug = composed_aug(f"aug={name}")
    dm = ToyData(tmp_path, size=64, batch_size=16, augment=build_augmentation(aug))
    torch.manual_seed(0)
    net = MLP(num_classes=3, input_shape=(1, 16, 16), hidden=[16])
    model = ImageClassifier(net, optimizer=partial(torch.optim.SGD, lr=0.1))
    before = [p.detach().clone() for p in model.parameters()]
    pictures = RunPictures(tmp_path / "pictures", augmented_images=3, augmented_draws=2)
    trainer = quiet_trainer(tmp_path, max_steps=4, limit_val_batches=1, callbacks=[pictures])
    trainer.fit(model, datamodule=dm)
    assert trainer.global_step == 4
    assert torch.isfinite(trainer.callback_metrics["train/loss"])
    assert 0 <= float(trainer.callback_metrics["train/acc"]) <= 1
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert (tmp_path / "pictures" / "augmented_samples.png").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", NEW)
def test_strength_zero_is_exactly_no_augmentation(name):
    ds = dataset(f"aug={name}", "aug.strength=0")
    assert ds.transform is None
    batch = draws(ds, 0, list(range(16)))
    assert len(batch) == 2  # no mixing weights either
    assert torch.equal(batch[0], ArrayDataset(*digits()).__getitems__(list(range(16)))[0])


@pytest.mark.slow
@pytest.mark.parametrize("name", [*NEW, "[on,erasing,mixup]"])
def test_the_same_seed_gives_the_same_batches(name):
    ds = dataset(f"aug={name}")
    first, again, other = (draws(ds, seed, list(range(16))) for seed in (0, 0, 1))
    assert len(first) == (3 if name in MIXERS or "mixup" in name else 2)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], other[0])


@pytest.mark.slow
@pytest.mark.parametrize("name", POLICIES)
def test_each_image_of_a_batch_gets_its_own_draw(name):
    """torchvision v2 draws one set of parameters per call: run on a batch it would
    treat 32 copies of an image alike. Here each copy is augmented apart."""
    ds = dataset(f"aug={name}")
    x, _ = draws(ds, 0, [5] * 32)
    distinct = {tuple(img.flatten().tolist()) for img in x}
    assert len(distinct) >= 8, len(distinct)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "strength", "limit"),
    [
        ("randaugment", 3.5, "aug.strength <= 3.33"),
        ("trivialaugment", 1.5, "aug.strength <= 1"),
        ("autoaugment", 1.01, "aug.strength <= 1"),
        ("erasing", 3.1, "aug.strength <= 3.03"),
    ],
)
def test_a_strength_a_preset_cannot_honour_is_one_line_naming_key_and_fix(name, strength, limit):
    with pytest.raises(ConfigError) as err:
        build_augmentation(composed_aug(f"aug={name}", f"aug.strength={strength}"))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"aug.transforms.{name}[0]")
    assert f"aug.strength={strength:g}" in message and message.endswith(limit)


@pytest.mark.slow
@pytest.mark.parametrize("name", NEW)
def test_a_negative_strength_is_refused_for_every_new_preset(name):
    with pytest.raises(ConfigError, match=r"aug.strength=-1 must be a number >= 0"):
        build_augmentation(composed_aug(f"aug={name}", "aug.strength=-1"))


def test_a_typo_in_a_policy_argument_is_a_config_error_naming_the_step():
    with pytest.raises(ConfigError, match=r"aug.transforms.randaugment\[0\].*num_opps"):
        build_augmentation(
            composed_aug("aug=randaugment", "+aug.transforms.randaugment.0.num_opps=3")
        )


# ---- what strength scales ------------------------------------------------------------------


@pytest.mark.slow
def test_strength_scales_elastic_alpha_and_the_distortion_with_it():
    (half,) = build_augmentation(composed_aug("aug=elastic", "aug.strength=0.5")).transforms
    (full,) = build_augmentation(composed_aug("aug=elastic")).transforms
    assert (half.alpha, full.alpha, full.sigma) == (17, 34, 4)
    assert full.noise_distribution == "uniform"
    images, labels = digits()
    plain = ArrayDataset(images, labels).__getitems__(list(range(32)))[0]
    moved = []
    for strength in ("0.25", "1"):
        x, _ = draws(dataset("aug=elastic", f"aug.strength={strength}"), 0, list(range(32)))
        moved.append((x - plain).abs().mean())
    assert 0 < moved[0] < moved[1]


@pytest.mark.slow
@pytest.mark.parametrize("s", [0.5, 2.0])
def test_strength_scales_each_policy_op_about_its_identity(s):
    image = torch.from_numpy(digits(1)[0][0]).permute(2, 0, 1).contiguous()
    (step,) = build_augmentation(composed_aug("aug=randaugment", f"aug.strength={s}")).transforms

    def run(transform_id: str, magnitude: float) -> torch.Tensor:
        return step.apply_scaled(image, transform_id, magnitude)

    assert torch.equal(run("Rotate", 20.0), v2.functional.rotate(image, 20.0 * s))
    assert torch.equal(run("Brightness", 0.4), v2.functional.adjust_brightness(image, 1 + 0.4 * s))
    assert torch.equal(run("Posterize", 6), v2.functional.posterize(image, round(8 - 2 * s)))


@pytest.mark.slow
def test_strength_near_zero_leaves_policies_within_a_grey_level_per_op():
    images, labels = digits()
    plain = ArrayDataset(images, labels).__getitems__(list(range(32)))[0]
    for name, ops in (("randaugment", 2), ("trivialaugment", 1)):
        x, _ = draws(dataset(f"aug={name}", "aug.strength=0.001"), 0, list(range(32)))
        assert (x - plain).abs().max() <= ops / 255 + 1e-6, name  # uint8 rounding per op


def test_autoaugment_strength_is_the_share_of_images_that_get_the_policy():
    (step,) = build_augmentation(composed_aug("aug=autoaugment", "aug.strength=0.25")).transforms
    assert step.p == 0.25
    images, labels = digits(n=1)
    ds = ArrayDataset(images, labels, transform=A.Compose([step]))
    x, _ = draws(ds, 0, [0] * 400)
    plain = ArrayDataset(images, labels).__getitems__([0])[0]
    share = (x - plain).flatten(1).abs().amax(dim=1).gt(0).float().mean()
    assert 0.1 < share < 0.3  # about a quarter (some sub-policies leave an image as it is)


@pytest.mark.slow
def test_strength_scales_the_erased_area():
    (step,) = build_augmentation(composed_aug("aug=erasing", "aug.strength=2")).transforms
    assert step.scale == pytest.approx((0.04, 0.66)) and step._op.scale == step.scale
    assert step.p == 0.5  # how often is the preset's; how much is strength's
    images, labels = digits(n=1)
    images[:] = 200  # erasing writes 0: the erased share is the share of zeros
    areas = []
    for strength in ("0.5", "2"):
        ds = ArrayDataset(
            images,
            labels,
            transform=build_augmentation(composed_aug("aug=erasing", f"aug.strength={strength}")),
        )
        x, _ = draws(ds, 0, [0] * 300)
        erased = (x == 0).flatten(1).float().mean(dim=1)
        areas.append(erased[erased > 0].mean())
        assert 0.35 < (erased > 0).float().mean() < 0.65  # p = 0.5
    assert areas[1] > 2.5 * areas[0]


@pytest.mark.parametrize("name", MIXERS)
def test_strength_scales_mixing_alpha(name):
    (step,) = build_augmentation(composed_aug(f"aug={name}", "aug.strength=0.5")).transforms
    assert step.alpha == 0.5 and float(step._op._dist.concentration1) == 0.5


# ---- fidelity to torchvision ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("randaugment", v2.RandAugment(num_ops=2, magnitude=9)),
        ("trivialaugment", v2.TrivialAugmentWide()),
        ("autoaugment", v2.AutoAugment(v2.AutoAugmentPolicy.SVHN)),
    ],
)
def test_at_strength_one_a_policy_is_torchvisions_own(name, reference):
    (step,) = build_augmentation(composed_aug(f"aug={name}")).transforms
    images = torch.from_numpy(digits(64)[0]).permute(0, 3, 1, 2)
    torch.manual_seed(0)
    ours = [step.op(img) for img in images]
    torch.manual_seed(0)
    theirs = [reference(img) for img in images]
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))
    assert sum(not torch.equal(a, img) for a, img in zip(ours, images, strict=True)) > 32


# ---- MixUp and CutMix ----------------------------------------------------------------------


def test_mixup_inputs_are_the_weighted_images_and_weights_are_a_pairwise_mix():
    images, labels = digits()
    plain = ArrayDataset(images, labels).__getitems__(list(range(16)))[0]
    x, y, weights = draws(dataset("aug=mixup"), 0, list(range(16)))
    assert torch.equal(y, torch.as_tensor(labels[:16]))
    assert torch.allclose(weights.sum(dim=1), torch.ones(16))
    assert ((weights > 0).sum(dim=1) <= 2).all() and not torch.equal(weights, torch.eye(16))
    assert torch.allclose(x.flatten(1), weights @ plain.flatten(1), atol=1e-5)


def test_cutmix_pastes_a_box_and_weights_it_by_area():
    images, labels = digits()
    plain = ArrayDataset(images, labels).__getitems__(list(range(16)))[0]
    x, _, weights = draws(dataset("aug=cutmix"), 0, list(range(16)))
    neighbour = plain.roll(1, 0)  # torchvision pairs each image with the one before it
    assert ((x == plain) | (x == neighbour)).all()  # every pixel from one of the two
    pasted = (x != plain).flatten(1).float().mean(dim=1)  # misses pixels the two share
    lam = weights.diagonal()
    assert (lam < 1).all() and ((1 - lam) - pasted).abs().max() < 0.1
    assert torch.allclose(weights.roll(1, 1).diagonal(), 1 - lam)


def test_near_zero_strength_mixes_almost_nothing():
    _, _, weights = draws(dataset("aug=mixup", "aug.strength=0.01"), 0, list(range(16)))
    assert (weights.max(dim=1).values > 0.99).all()  # each input is essentially one image


def test_the_loss_learns_the_mixed_labels_and_accuracy_stays_on_the_own_labels(tmp_path):
    torch.manual_seed(0)
    model = ImageClassifier(MLP(3, (1, 16, 16), [8]), optimizer=torch.optim.SGD)
    model.trainer = quiet_trainer(tmp_path)
    model.on_train_epoch_start()
    x, y, weights = draws(dataset("aug=mixup"), 0, list(range(16)))
    loss = model.training_step((x, y, weights), 0)
    soft = weights @ nn.functional.one_hot(y, 3).float()
    assert torch.allclose(loss, nn.functional.cross_entropy(model(x), soft))
    assert not torch.allclose(loss, nn.functional.cross_entropy(model(x), y))
    assert torch.equal(model._train_outputs[-1][2], y)


def test_the_picture_shows_mixed_images_not_the_image_mixed_with_itself():
    images, labels = digits()
    ds = dataset("aug=mixup")
    torch.manual_seed(0)
    views = ds.augmented_views(4, 6)
    plain = torch.from_numpy(images[4]).permute(2, 0, 1).float() / 255
    assert views.shape == (6, 1, 16, 16)
    assert all(not torch.allclose(v, plain, atol=1e-3) for v in views)
    assert len({tuple(v.flatten().tolist()) for v in views}) == 6


def test_a_mixer_refuses_to_run_on_one_image():
    with pytest.raises(TypeError, match="mixes whole batches"):
        A.Compose([MixUp()])(image=digits(1)[0][0])


def test_synthetic_sets_refuse_mixing_in_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"data.synthetic_size .* MixUp/CutMix .*=null$"):
        ToyData(tmp_path, augment=build_augmentation(composed_aug("aug=mixup")), synthetic_size=500)


# ---- combining presets --------------------------------------------------------------------


@pytest.mark.slow
def test_a_list_of_presets_runs_all_of_them_in_order_under_one_name_and_strength(caplog):
    aug = composed_aug("aug=[on,erasing,mixup]", "aug.strength=0.5")
    assert preset_name(aug) == "on+erasing+mixup" and aug.strength == 0.5
    affine, erasing, mixup = build_augmentation(aug).transforms
    assert affine.rotate == pytest.approx((-22.5, 22.5))  # on's ranges, halved
    assert erasing.scale == pytest.approx((0.01, 0.165))
    assert mixup.alpha == 0.5
    with caplog.at_level(logging.INFO, logger="auglab.data.dataset"):
        ds = dataset("aug=[on,erasing,mixup]")
    assert "Affine as one batched torch warp per batch, then RandomErasing" in caplog.text
    (warp, per_image), mixers = ds.stages.steps, ds.stages.mixers
    assert isinstance(warp, BatchedAugment) and isinstance(per_image, A.Compose)
    assert [type(m) for m in mixers] == [MixUp]


def test_mixers_run_last_wherever_they_are_listed():
    aug = composed_aug("aug=[mixup,on]")
    assert preset_name(aug) == "mixup+on"
    affine, mixup = build_augmentation(aug).transforms
    assert isinstance(affine, A.Affine) and isinstance(mixup, BatchMix)


def test_a_combination_reproduces_and_moves_every_image():
    ds = dataset("aug=[on,erasing]")
    first, again = draws(ds, 3, list(range(16))), draws(ds, 3, list(range(16)))
    assert torch.equal(first[0], again[0])
    plain = ArrayDataset(*digits()).__getitems__(list(range(16)))[0]
    assert all(not torch.equal(a, b) for a, b in zip(first[0], plain, strict=True))


def test_light_in_a_list_is_on_and_the_name_says_so():
    """Hydra keeps the last strength of a list: the combination is named after what runs."""
    aug = composed_aug("aug=[light,erasing]")
    assert preset_name(aug) == "on+erasing" and aug.strength == 1.0


@pytest.mark.slow
def test_a_single_preset_keeps_its_own_name():
    for name in ("light", "strong", "on", "off"):
        assert preset_name(composed_aug(f"aug={name}")) == name


@pytest.mark.slow
def test_policies_run_on_three_channel_images():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(8, 16, 16, 3), dtype=np.uint8)
    for name in POLICIES:
        aug = build_augmentation(composed_aug(f"aug={name}"))
        x = ArrayDataset(images, np.zeros(8), transform=aug).__getitems__(list(range(8)))[0]
        assert x.shape == (8, 3, 16, 16), name
