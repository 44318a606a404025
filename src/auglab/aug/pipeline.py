"""Build the albumentations pipeline a preset describes, at the preset's strength."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Mapping, Sequence

import albumentations as A
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from auglab.aug.mix import BatchMix
from auglab.aug.strength import check_strength, scale_transform
from auglab.errors import ConfigError

log = logging.getLogger(__name__)


def build_augmentation(preset: Mapping | None) -> A.Compose | None:
    """An ``A.Compose`` of the preset's ``transforms`` scaled by its ``strength``, or ``None``.

    ``None`` means no augmentation: no transforms or ``strength: 0``. ``transforms`` is
    a list, or (as in ``conf/aug/``) lists keyed by preset name, which is what lets
    ``aug=[on,erasing]`` merge two presets: their lists run in that order, under one
    strength. Steps that mix whole batches (MixUp, CutMix) go last wherever they are
    listed. The yaml stays the single source of truth; ``ArrayDataset`` runs the
    affine steps as one batched warp, the others per image. Only training batches are
    augmented: the datamodule hands this to its training set alone.
    """
    preset = preset or {}
    strength = check_strength(preset.get("strength", 1.0))
    specs = list(_specs(preset.get("transforms")))
    if not specs and strength not in (0.0, 1.0):
        # A sweep plans such a job once (auglab.plan fingerprints it at strength 1), so
        # `-m aug=off,on aug.strength=0.5,1,2` trains off once; alone it may be a slip.
        log.warning(
            "aug.strength=%g has nothing to scale: aug=%s has no transforms, so this trains "
            "without augmentation (for a preset at that strength: aug=on aug.strength=%g)",
            strength,
            preset.get("name"),
            strength,
        )
    if not specs or strength == 0.0:
        return None
    ops = []
    for where, spec in specs:
        where = f"{where} ({spec.get('_target_', '?')})"
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                op = instantiate(spec, _convert_="all")
        except InstantiationException as err:
            cause = err.__cause__ or err
            if isinstance(cause, ConfigError):
                raise ConfigError(f"{where}: {cause}") from None
            raise ConfigError(f"{where} is invalid: {' '.join(str(cause).split())}") from None
        # albumentations only warns about unknown arguments; a typo in a preset
        # would silently train without the intended augmentation.
        for w in caught:
            if "not valid for transform" in str(w.message):
                raise ConfigError(f"{where}: {w.message}; check the spelling in conf/aug/")
        scale_transform(op, strength, where)
        ops.append(op)
    # Mixing needs the whole batch, so it comes after every per-image step.
    ops.sort(key=lambda op: isinstance(op, BatchMix))
    return A.Compose(ops)


def preset_name(preset: Mapping | None) -> str:
    """What to call the augmentation in records and reports: ``aug.name``, or for presets
    merged by ``aug=[on,erasing]`` their names joined, ``on+erasing`` (Hydra keeps only the
    last ``name`` of a list of configs)."""
    preset = preset or {}
    transforms = preset.get("transforms")
    if isinstance(transforms, Mapping) and len(transforms) > 1:
        return "+".join(str(k) for k in transforms)
    return str(preset.get("name") or "off")


def _specs(transforms: Sequence | Mapping | None) -> Iterator[tuple[str, Mapping]]:
    """(where, spec) of every transform: ``aug.transforms[i]`` or ``aug.transforms.<preset>[i]``."""
    if isinstance(transforms, Mapping):
        for part, specs in transforms.items():
            for i, spec in enumerate(specs or []):
                yield f"aug.transforms.{part}[{i}]", spec
    else:
        for i, spec in enumerate(transforms or []):
            yield f"aug.transforms[{i}]", spec
