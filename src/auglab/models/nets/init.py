"""Weight initialisation matching the Keras notebooks the experiments come from."""

from __future__ import annotations

from torch import nn


def keras_init(module: nn.Module) -> None:
    """Glorot-uniform weights and zero biases (Keras defaults) for conv and dense layers.

    PyTorch's default (Kaiming-uniform, a=sqrt(5)) trains differently on 100
    images; matching the reference's initialisation keeps its numbers comparable.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
