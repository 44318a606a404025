"""Building blocks the Keras-derived nets share: batch norm, dropout, hidden dense layers."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from auglab.errors import ConfigError


def batch_norm(num_features: int, dims: int = 2) -> nn.BatchNorm1d | nn.BatchNorm2d:
    """Batch norm with Keras's defaults (momentum 0.99 = torch 0.01, epsilon 1e-3).

    Keras counts 4 parameters per channel: gamma and beta (torch parameters) and the
    moving mean and variance (torch buffers ``running_mean`` / ``running_var``).
    """
    cls = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
    return cls(num_features, eps=1e-3, momentum=0.01)


def dropout(rate: float, key: str = "model.net.dropout") -> nn.Dropout:
    """``nn.Dropout(rate)``; rate 0 keeps the layer (a no-op) so layer indices never shift."""
    if not 0.0 <= float(rate) < 1.0:
        raise ConfigError(f"{key}={rate} is not a drop rate: use a value in [0, 1), 0 = none")
    return nn.Dropout(float(rate))


def dense_stack(
    in_features: int,
    hidden: Sequence[int],
    drop: float = 0.0,
    norm: bool = False,
    activation: type[nn.Module] = nn.ReLU,
) -> nn.Sequential:
    """[Dense(h) (-> BatchNorm) -> activation -> Dropout] for h in ``hidden``."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers.append(nn.Linear(in_features, int(width)))
        if norm:
            layers.append(batch_norm(int(width), dims=1))
        layers += [activation(), dropout(drop)]
        in_features = int(width)
    return nn.Sequential(*layers)
