"""Build the albumentations pipeline a preset describes, at the preset's strength."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import albumentations as A
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from auglab.aug.strength import check_strength, scale_transform
from auglab.errors import ConfigError


def build_augmentation(preset: Mapping | None) -> A.Compose | None:
    """An ``A.Compose`` of the preset's ``transforms`` scaled by its ``strength``, or ``None``.

    ``None`` means no augmentation: an empty list or ``strength: 0``. The yaml stays
    the single source of truth; ``ArrayDataset`` runs the returned pipeline as one
    batched warp when it can, per image through albumentations otherwise. Only
    training batches are augmented: the datamodule hands this to its training set alone.
    """
    preset = preset or {}
    strength = check_strength(preset.get("strength", 1.0))
    transforms: Sequence = preset.get("transforms") or []
    if not transforms and strength not in (0.0, 1.0):
        # Otherwise `-m aug.strength=0,0.5,1` on the default aug=off trains the same
        # unaugmented model under four labels.
        raise ConfigError(
            f"aug.strength={strength:g} has nothing to scale: aug={preset.get('name')} has no "
            f"transforms; pick a preset, e.g. aug=on aug.strength={strength:g}"
        )
    if not transforms or strength == 0.0:
        return None
    ops = []
    for i, spec in enumerate(transforms):
        where = f"aug.transforms[{i}] ({spec.get('_target_', '?')})"
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                op = instantiate(spec, _convert_="all")
        except InstantiationException as err:
            detail = " ".join(str(err.__cause__ or err).split())
            raise ConfigError(f"{where} is invalid: {detail}") from None
        # albumentations only warns about unknown arguments; a typo in a preset
        # would silently train without the intended augmentation.
        for w in caught:
            if "not valid for transform" in str(w.message):
                raise ConfigError(f"{where}: {w.message}; check the spelling in conf/aug/")
        scale_transform(op, strength, where)
        ops.append(op)
    return A.Compose(ops)
