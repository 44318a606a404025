"""The policies' op tables, built from public torchvision, against torchvision's own.

``auglab.aug.policy_ops`` writes the magnitude bins down and runs each op through
public ``v2.functional`` functions; v2's policies keep theirs in private attributes.
These tests read those attributes on purpose: when a torchvision release changes a
range, an op or a sub-policy, they fail here, naming what moved.
"""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms import v2

from auglab.aug.policy_ops import (
    AUTOAUGMENT_SPACE,
    RANDAUGMENT_SPACE,
    TRIVIALAUGMENT_WIDE_SPACE,
    apply_op,
    autoaugment_policies,
    fill_value,
)

SPACES = [
    (RANDAUGMENT_SPACE, v2.RandAugment),
    (TRIVIALAUGMENT_WIDE_SPACE, v2.TrivialAugmentWide),
    (AUTOAUGMENT_SPACE, v2.AutoAugment),
]


@pytest.mark.parametrize(("ours", "policy"), SPACES, ids=["ra", "ta", "aa"])
@pytest.mark.parametrize(
    ("num_bins", "height", "width"), [(31, 32, 32), (10, 28, 40), (5, 224, 96)]
)
def test_each_space_is_v2s_op_for_op_in_its_draw_order(ours, policy, num_bins, height, width):
    theirs = policy._AUGMENTATION_SPACE
    assert list(ours) == list(theirs)  # the index an op is drawn by
    for name, (bins, signed) in ours.items():
        their_bins, their_signed = theirs[name]
        assert signed == their_signed, name
        mine, reference = bins(num_bins, height, width), their_bins(num_bins, height, width)
        if reference is None:
            assert mine is None, name
        else:
            assert mine.dtype == reference.dtype and torch.equal(mine, reference), name


@pytest.mark.parametrize("policy", ["imagenet", "cifar10", "svhn"])
def test_autoaugment_sub_policies_are_v2s(policy):
    ours = autoaugment_policies(policy)
    assert len(ours) == 25
    assert ours == v2.AutoAugment(v2.AutoAugmentPolicy(policy))._policies


def test_an_unknown_autoaugment_policy_is_refused():
    with pytest.raises(ValueError, match="mnist"):
        autoaugment_policies("mnist")


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize(
    ("transform_id", "magnitude"),
    [("Solarize", 0.4), ("Posterize", 3.0), ("Invert", 0.0), ("ShearX", -0.2), ("Identity", 0.0)],
)
def test_each_op_is_v2s_on_uint8_and_float_images(transform_id, magnitude, dtype):
    image = torch.randint(0, 256, (3, 20, 24), generator=torch.Generator().manual_seed(1))
    image = image.to(torch.uint8)
    if dtype.is_floating_point and transform_id != "Posterize":  # posterize: integers only
        image = image.to(dtype) / 255
    reference = v2.RandAugment(fill=[1, 2, 3])
    theirs = v2.AutoAugment._apply_image_or_video_transform(
        reference, image, transform_id, magnitude, "nearest", reference._fill
    )
    assert torch.equal(apply_op(image, transform_id, magnitude, "nearest", (1, 2, 3)), theirs)


def test_an_unknown_op_is_refused_and_fill_takes_v2s_forms():
    with pytest.raises(ValueError, match="Blur"):
        apply_op(torch.zeros(1, 4, 4, dtype=torch.uint8), "Blur", 0.0, "nearest", None)
    assert fill_value(None) is None and fill_value(7) == 7
    assert fill_value((1, 2)) == [1.0, 2.0]
