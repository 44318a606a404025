"""Build the albumentations pipeline a preset describes."""

from __future__ import annotations

import warnings
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
        where = f"aug.transforms[{i}] ({spec.get('_target_', '?')})"
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                ops.append(instantiate(spec, _convert_="all"))
        except InstantiationException as err:
            detail = " ".join(str(err.__cause__ or err).split())
            raise ConfigError(f"{where} is invalid: {detail}") from None
        # albumentations only warns about unknown arguments; a typo in a preset
        # would silently train without the intended augmentation.
        for w in caught:
            if "not valid for transform" in str(w.message):
                raise ConfigError(f"{where}: {w.message}; check the spelling in conf/aug/")
    return A.Compose(ops)
