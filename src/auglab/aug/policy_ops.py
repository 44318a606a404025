"""The ops and magnitude tables of the auto-augment policies, from public torchvision.

RandAugment, TrivialAugmentWide and AutoAugment each draw an op by name and a
magnitude from that op's bins; ``apply_op`` runs the op through the public
``torchvision.transforms.v2.functional`` function its paper names, as v2's policies run
it, and the ``*_SPACE`` tables hold each op's bins as the papers and torchvision's
documentation give them (the op order is the draw order: an op is picked by its index).
AutoAugment's learned sub-policies are torchvision's own (``transforms.AutoAugment``'s
``policies``). tests/aug/test_policy_ops.py checks all of it against v2's policies, so
a torchvision release that changes them fails there first.

``scaled_op`` is how ``aug.strength`` moves an op's magnitude about its identity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torchvision.transforms import AutoAugment as V1AutoAugment
from torchvision.transforms import AutoAugmentPolicy
from torchvision.transforms.v2 import functional as F

#: What a policy's ``fill`` may be: one value for every channel, one per channel, or None.
Fill = float | Sequence[float] | None

#: An op's magnitude bins for (number of bins, image height, image width), None for an op
#: without a magnitude, and whether the magnitude is negated half of the time.
Bins = Callable[[int, int, int], torch.Tensor | None]
Space = dict[str, tuple[Bins, bool]]

#: AutoAugment's sub-policies: two (op, probability, magnitude bin of 10) each.
SubPolicy = tuple[tuple[str, float, int | None], tuple[str, float, int | None]]


def _linear(top: float) -> Bins:
    return lambda num_bins, height, width: torch.linspace(0.0, top, num_bins)


def _none(num_bins: int, height: int, width: int) -> None:
    return None


def _posterize(fewest_bits_off: int) -> Bins:
    """Bits kept, from 8 down to ``8 - fewest_bits_off`` over the bins (rounded)."""
    return lambda num_bins, height, width: (
        (8 - (torch.arange(num_bins) / ((num_bins - 1) / fewest_bits_off))).round().int()
    )


def _solarize(num_bins: int, height: int, width: int) -> torch.Tensor:
    return torch.linspace(1.0, 0.0, num_bins)  # the threshold, a fraction of the range


def _translate_x(num_bins: int, height: int, width: int) -> torch.Tensor:
    return torch.linspace(0.0, 150.0 / 331.0 * width, num_bins)  # 150 px of 331 (ImageNet)


def _translate_y(num_bins: int, height: int, width: int) -> torch.Tensor:
    return torch.linspace(0.0, 150.0 / 331.0 * height, num_bins)


#: AutoAugment's and RandAugment's ranges (Cubuk et al. 2019, 2020), Identity aside.
_AUTOAUGMENT_OPS: Space = {
    "ShearX": (_linear(0.3), True),
    "ShearY": (_linear(0.3), True),
    "TranslateX": (_translate_x, True),
    "TranslateY": (_translate_y, True),
    "Rotate": (_linear(30.0), True),
    "Brightness": (_linear(0.9), True),
    "Color": (_linear(0.9), True),
    "Contrast": (_linear(0.9), True),
    "Sharpness": (_linear(0.9), True),
    "Posterize": (_posterize(4), False),
    "Solarize": (_solarize, False),
    "AutoContrast": (_none, False),
    "Equalize": (_none, False),
}

RANDAUGMENT_SPACE: Space = {"Identity": (_none, False), **_AUTOAUGMENT_OPS}

AUTOAUGMENT_SPACE: Space = {**_AUTOAUGMENT_OPS, "Invert": (_none, False)}

#: TrivialAugment's "wide" ranges (Müller & Hutter 2021, table 1).
TRIVIALAUGMENT_WIDE_SPACE: Space = {
    "Identity": (_none, False),
    "ShearX": (_linear(0.99), True),
    "ShearY": (_linear(0.99), True),
    "TranslateX": (_linear(32.0), True),
    "TranslateY": (_linear(32.0), True),
    "Rotate": (_linear(135.0), True),
    "Brightness": (_linear(0.99), True),
    "Color": (_linear(0.99), True),
    "Contrast": (_linear(0.99), True),
    "Sharpness": (_linear(0.99), True),
    "Posterize": (_posterize(6), False),
    "Solarize": (_solarize, False),
    "AutoContrast": (_none, False),
    "Equalize": (_none, False),
}


#: One image's op in one slot: ``(transform_id, magnitude)`` as v2 applies it, or None
#: to leave the image as it is.
Op = tuple[str, float] | None


def autoaugment_policies(policy: str) -> list[SubPolicy]:
    """The 25 learned sub-policies of ``imagenet``, ``cifar10`` or ``svhn``, as torchvision
    holds them (``torchvision.transforms.AutoAugment(policy).policies``)."""
    return list(V1AutoAugment(AutoAugmentPolicy(policy)).policies)


def fill_value(fill: Fill) -> float | list[float] | None:
    """``fill`` as v2's geometric ops take it: a number, a list of floats, or None."""
    if fill is None or isinstance(fill, int | float):
        return fill
    return [float(v) for v in fill]


def apply_op(
    image: torch.Tensor, transform_id: str, magnitude: float, interpolation: str, fill: Fill
) -> torch.Tensor:
    """The op on an image (any leading batch dims) at ``magnitude``, as v2's policies apply it.

    Shears are ``magnitude = tan(angle)`` about the top-left corner; translations whole
    pixels; the colour ops factors ``1 + magnitude``; solarize's threshold a fraction of
    the dtype's range."""
    fill = fill_value(fill)
    if transform_id in ("ShearX", "ShearY"):
        angle = math.degrees(math.atan(magnitude))
        shear = [angle, 0.0] if transform_id == "ShearX" else [0.0, angle]
        return F.affine(
            image,
            angle=0.0,
            translate=[0, 0],
            scale=1.0,
            shear=shear,
            interpolation=interpolation,
            fill=fill,
            center=[0, 0],
        )
    if transform_id in ("TranslateX", "TranslateY"):
        shift = [int(magnitude), 0] if transform_id == "TranslateX" else [0, int(magnitude)]
        return F.affine(
            image,
            angle=0.0,
            translate=shift,
            scale=1.0,
            interpolation=interpolation,
            shear=[0.0, 0.0],
            fill=fill,
        )
    if transform_id == "Rotate":
        return F.rotate(image, angle=magnitude, interpolation=interpolation, fill=fill)
    if transform_id in _FACTOR_OPS:
        return _FACTOR_OPS[transform_id](image, 1.0 + magnitude)
    if transform_id == "Posterize":
        return F.posterize(image, bits=int(magnitude))
    if transform_id == "Solarize":
        top = 1.0 if image.dtype.is_floating_point else torch.iinfo(image.dtype).max
        return F.solarize(image, threshold=top * magnitude)
    if transform_id in _PLAIN_OPS:
        return _PLAIN_OPS[transform_id](image)
    raise ValueError(f"No transform available for {transform_id}")


_FACTOR_OPS: dict[str, Callable[[torch.Tensor, float], torch.Tensor]] = {
    "Brightness": F.adjust_brightness,
    "Color": F.adjust_saturation,
    "Contrast": F.adjust_contrast,
    "Sharpness": F.adjust_sharpness,
}

_PLAIN_OPS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "Identity": lambda image: image,
    "AutoContrast": F.autocontrast,
    "Equalize": F.equalize,
    "Invert": F.invert,
}

#: Ops whose magnitude is a factor ``1 + m`` or a signed amount: identity at m = 0.
_LINEAR = {
    "ShearX",
    "ShearY",
    "TranslateX",
    "TranslateY",
    "Rotate",
    "Brightness",
    "Color",
    "Contrast",
    "Sharpness",
}

#: Solarize's threshold (a fraction of 255) at which it inverts nothing in a uint8 image.
_SOLARIZE_OFF = 256 / 255


def scaled_op(transform_id: str, magnitude: float, strength: float) -> tuple[float, float]:
    """``(magnitude, chance)``: an op's magnitude at ``strength`` and the chance that it runs
    at all (0: it would change nothing; below 1 for ops without a magnitude).

    ``strength`` s multiplies rotation, shear, translation and the ``1 + m`` colour
    factors by s; posterize keeps ``8 - s * (8 - bits)`` bits (rounded) and solarize's
    threshold moves towards "above white" (256/255 of the range) by the same rule.
    Ops without a magnitude (AutoContrast, Equalize, Identity) happen with probability
    ``min(s, 1)``. So near strength 0 each op leaves every pixel within a grey level
    (uint8 rounding), and at s = 1 this is torchvision's policy, draw for draw."""
    s = strength
    if s == 1.0:
        return magnitude, 1.0
    if transform_id in _LINEAR:
        return magnitude * s, 1.0
    if transform_id == "Posterize":
        return round(8 - s * (8 - magnitude)), 1.0
    if transform_id == "Solarize":
        # Identity is a threshold above 255 (uint8 inverts pixels >= it), not at it.
        magnitude = _SOLARIZE_OFF - s * (_SOLARIZE_OFF - magnitude)
        return magnitude, 0.0 if magnitude > 1 else 1.0
    return magnitude, min(s, 1.0)


def apply_grouped(
    images: torch.Tensor, ops: list[Op], interpolation: str, fill: Fill
) -> torch.Tensor:
    """``ops[i]`` on ``images[i]``, one call per distinct op: uint8 (N, C, H, W) in and out.

    The images to change are gathered once, sorted by op, so each op runs on a slice."""
    groups: dict[tuple[str, float], list[int]] = {}
    for i, op in enumerate(ops):
        if op is not None:
            groups.setdefault(op, []).append(i)
    if not groups:
        return images
    if len(groups) == 1 and len(next(iter(groups.values()))) == len(images):
        ((transform_id, magnitude),) = groups
        return apply_op(images, transform_id, magnitude, interpolation, fill)
    idx = torch.tensor([i for rows in groups.values() for i in rows], device=images.device)
    picked = images[idx]
    done, start = [], 0
    for (transform_id, magnitude), rows in groups.items():
        part = picked[start : start + len(rows)]
        done.append(apply_op(part, transform_id, magnitude, interpolation, fill))
        start += len(rows)
    out = images.clone()
    out[idx] = torch.cat(done)
    return out
