"""Input-shape checks: a too-small image fails at construction with the size it needs."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from auglab.errors import ConfigError


def require_min_size(net: str, input_shape: Sequence[int], min_size: int) -> None:
    """Refuse images smaller than ``min_size`` (the smallest the layers reduce to 1x1)."""
    _, height, width = input_shape
    if height < min_size or width < min_size:
        raise ConfigError(
            f"{net} needs images of at least {min_size}x{min_size} but the data gives "
            f"{height}x{width}: pad or resize them (e.g. data.pad_to={min_size}) or pick "
            "another model"
        )


def output_shape(
    layers: nn.Module, input_shape: Sequence[int], net: str, min_size: int
) -> tuple[int, ...]:
    """Shape (without batch) of ``layers`` applied to one image, by a dry run on zeros."""
    require_min_size(net, input_shape, min_size)
    was_training = layers.training
    layers.eval()  # batch norm cannot normalise one image in training mode
    with torch.no_grad():
        out = layers(torch.zeros(1, *(int(d) for d in input_shape)))
    layers.train(was_training)
    return tuple(out.shape[1:])
