"""Build the albumentations pipeline a preset describes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import albumentations as A
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from auglab.errors import ConfigError


def build_augmentation(preset: Mapping | None) -> A.Compose | None:
    """An ``A.Compose`` of the preset's ``transforms`` list, or ``None`` for no augmentation.

    Only training batches are augmented: the datamodule hands this pipeline to its
    training set alone.
    """
    transforms: Sequence = (preset or {}).get("transforms") or []
    if not transforms:
        return None
    ops = []
    for i, spec in enumerate(transforms):
        try:
            ops.append(instantiate(spec, _convert_="all"))
        except InstantiationException as err:
            cause = err.__cause__ or err
            detail = " ".join(str(cause).split())
            raise ConfigError(f"aug.transforms[{i}] ({spec.get('_target_', '?')}) is invalid: {detail}") from None
    return A.Compose(ops)
