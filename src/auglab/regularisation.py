"""Regularisation settings (``conf/reg``): weight decay, dropout and label smoothing, each
scaled by ``reg.strength`` as an augmentation preset is by ``aug.strength``, so a sweep
tunes them on validation and the report compares them with ``off`` like augmentations.

The setting is applied where each part lives: the drop rate to the network
(``model.net.dropout``), the weight decay to the optimiser, label smoothing to the
training loss (``ImageClassifier``). Nothing here changes a run with ``reg=off``."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hydra.utils import get_class

from auglab.errors import ConfigError

OFF = "off"


@dataclass(frozen=True)
class Regularisation:
    """The scaled values one job trains with (0: that part is off)."""

    name: str = OFF
    strength: float = 1.0
    weight_decay: float = 0.0
    dropout: float = 0.0
    label_smoothing: float = 0.0

    @property
    def active(self) -> bool:
        return any((self.weight_decay, self.dropout, self.label_smoothing))


def regularisation(reg: Mapping[str, Any] | None) -> Regularisation:
    """``cfg.reg`` checked and scaled by its strength; None (configs from before): off."""
    if not reg:
        return Regularisation()
    strength = _number(reg.get("strength", 1.0), "reg.strength")
    if strength < 0:
        raise ConfigError(f"reg.strength={strength:g} is negative: use 0 (none), 1, 2 ...")
    values = {k: _number(reg.get(k, 0.0), f"reg.{k}") * strength for k in _PARTS}
    for key, value in values.items():
        if value < 0:
            raise ConfigError(f"reg.{key}={reg.get(key)} is negative: use a value >= 0")
    for key in ("dropout", "label_smoothing"):
        if values[key] >= 1:
            raise ConfigError(
                f"reg.{key}={reg.get(key)} x reg.strength={strength:g} = {values[key]:g} is not "
                f"below 1: lower reg.strength (at most {1 / float(reg.get(key)):.3g} here)"
            )
    return Regularisation(str(reg.get("name") or OFF), strength, **values)


_PARTS = ("weight_decay", "dropout", "label_smoothing")


def net_overrides(reg: Regularisation, net_cfg: Mapping[str, Any]) -> dict[str, float]:
    """What the network is built with beyond its yaml: the drop rate, if any. A network with
    no ``dropout`` argument cannot take one: one line naming the models that can."""
    if not reg.dropout:
        return {}
    target = str(net_cfg.get("_target_", ""))
    if "dropout" not in inspect.signature(get_class(target)).parameters:
        raise ConfigError(
            f"reg={reg.name} sets a drop rate but {target.rsplit('.', 1)[-1]} has no dropout "
            "knob: use model=lenet5 (or a net whose yaml lists dropout), or another reg"
        )
    return {"dropout": reg.dropout}


def model_overrides(reg: Regularisation) -> dict[str, float]:
    """What ``ImageClassifier`` is built with beyond its yaml: weight decay and smoothing."""
    found: dict[str, float] = {}
    if reg.weight_decay:
        found["weight_decay"] = reg.weight_decay
    if reg.label_smoothing:
        found["label_smoothing"] = reg.label_smoothing
    return found


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key}={value!r} is not a number: e.g. {key}=0.5")
    return float(value)
