"""One ``aug.strength`` scalar scales a whole preset, so a sweep is one override.

Ranges scale linearly about the identity: rotation, shear and shift about 0,
zoom about 1 (``[1-z, 1+z] -> [1-s*z, 1+s*z]``), elastic distortion's ``alpha``
(its displacement) about 0. Transforms without ranges (flips, 90-degree turns)
scale their probability instead, never above the preset's value. auglab's own
steps (``auglab.aug.policies``, ``auglab.aug.mix``) scale themselves
(``scale_strength``) and refuse a strength they cannot honour. Strength 0 is no
augmentation; 1 is the preset as written.
"""

from __future__ import annotations

import math
import numbers

import albumentations as A

from auglab.errors import ConfigError

#: Transforms whose whole effect is "happens or not": strength scales ``p``.
PROBABILITY_ONLY: tuple[type, ...] = (
    A.HorizontalFlip,
    A.VerticalFlip,
    A.Transpose,
    A.RandomRotate90,
)
#: Transforms whose ranges strength knows how to scale.
AFFINE_FAMILY: tuple[type, ...] = (A.Affine, A.ShiftScaleRotate)


def check_strength(value: object) -> float:
    """``aug.strength`` as a float, or a ``ConfigError`` saying what a valid one looks like."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ConfigError(
            f"aug.strength={value!r} must be a number >= 0 (0: no augmentation, 1: the preset "
            "as written), e.g. aug.strength=0.5"
        )
    return float(value)


def scale_transform(transform: A.BasicTransform, strength: float, where: str) -> None:
    """Scale one instantiated transform's ranges (or probability) in place."""
    if strength == 1.0:
        return
    if type(transform) in AFFINE_FAMILY:
        _scale_affine(transform, strength)
    elif type(transform) in PROBABILITY_ONLY:
        transform.p = min(strength * transform.p, transform.p)
    elif type(transform) is A.ElasticTransform:
        transform.alpha = strength * transform.alpha
    elif callable(getattr(transform, "scale_strength", None)):
        transform.scale_strength(strength, where)
    else:
        known = ", ".join(
            t.__name__ for t in (*AFFINE_FAMILY, *PROBABILITY_ONLY, A.ElasticTransform)
        )
        raise ConfigError(
            f"{where}: aug.strength={strength:g} cannot scale {type(transform).__name__} "
            f"(it scales {known} and auglab.aug's steps); use aug.strength=1 or set its ranges "
            "in conf/aug/ by hand"
        )


def _about(values: tuple[float, ...], strength: float, identity: float) -> tuple[float, ...]:
    return tuple(identity + strength * (v - identity) for v in values)


def _scale_affine(t: A.Affine, s: float) -> None:
    # albumentations has already normalised every range to a tuple or {"x": .., "y": ..}.
    t.rotate = _about(t.rotate, s, 0.0)
    t.shear = {k: _about(v, s, 0.0) for k, v in t.shear.items()}
    t.scale = {k: _about(v, s, 1.0) for k, v in t.scale.items()}
    if t.translate_percent is not None:
        t.translate_percent = {k: _about(v, s, 0.0) for k, v in t.translate_percent.items()}
    if t.translate_px is not None:
        t.translate_px = {k: _about(v, s, 0.0) for k, v in t.translate_px.items()}
    if isinstance(t, A.ShiftScaleRotate):  # its own copies only feed repr/serialisation
        t.rotate_limit = t.rotate
        t.scale_limit = t.scale["x"]
        t.shift_limit_x = t.translate_percent["x"]
        t.shift_limit_y = t.translate_percent["y"]
