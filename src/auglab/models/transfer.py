"""Transfer learning: start a network from another run's checkpoint, with a fresh head."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from auglab.errors import ConfigError

HEAD_PREFIX = "head."
SHOWN = 5  # mismatched layers named in an error


def backbone_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if not k.startswith(HEAD_PREFIX)}


def load_torch_file(path: str | Path, key: str, expected: str, weights_only: bool) -> object:
    """``torch.load`` for a file named in the config: a missing or unreadable file is a ConfigError."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"{key}={path}: no such file; {expected}")
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same advice
        raise ConfigError(
            f"{key}={path} is not a readable torch file ({type(err).__name__}): {expected}"
        ) from None


def read_net_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The network weights in a Lightning checkpoint (``net.*`` keys) or a plain state dict."""
    saved = load_torch_file(
        path,
        "model.init_from",
        "pass a checkpoint of an earlier run, e.g. logs/runs/<time>/checkpoints/last.ckpt",
        weights_only=False,  # Lightning checkpoints hold the run's hyperparameters
    )
    state = saved.get("state_dict", saved) if isinstance(saved, dict) else None
    if not isinstance(state, dict):
        raise ConfigError(
            f"model.init_from={path} holds no state dict: pass a .ckpt written by auglab"
        )
    if any(k.startswith("net.") for k in state):
        state = {k[len("net.") :]: v for k, v in state.items() if k.startswith("net.")}
    return state


def load_backbone(net: nn.Module, path: str | Path) -> None:
    """Copy every non-head weight of ``path`` into ``net``; its head stays freshly initialised.

    Refuses, naming the layers, a checkpoint whose backbone differs from ``net``'s.
    """
    wanted = backbone_state(net.state_dict())
    found = backbone_state(read_net_state(path))
    missing = [k for k in wanted if k not in found]
    unexpected = [k for k in found if k not in wanted]
    shapes = [
        f"{k} {tuple(found[k].shape)} vs {tuple(v.shape)}"
        for k, v in wanted.items()
        if k in found and found[k].shape != v.shape
    ]
    problems = [
        f"{label}: {', '.join(items[:SHOWN])}{' ...' if len(items) > SHOWN else ''}"
        for label, items in (
            ("missing from checkpoint", missing),
            ("not in model.net", unexpected),
            ("shape checkpoint vs model", shapes),
        )
        if items
    ]
    if problems:
        raise ConfigError(
            f"model.init_from={path} does not match the backbone of {type(net).__name__} ("
            + "; ".join(problems)
            + "): use the model.net settings of the run that wrote the checkpoint"
        )
    net.load_state_dict(found, strict=False)


def freeze_backbone(net: nn.Module) -> int:
    """Stop gradients to everything but ``net.head``; returns the number of frozen tensors."""
    frozen = 0
    for name, param in net.named_parameters():
        if not name.startswith(HEAD_PREFIX):
            param.requires_grad_(False)
            frozen += 1
    return frozen


#: torch's public batch-norm classes (the lazy ones are not subclasses of the others).
BATCH_NORMS = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.LazyBatchNorm1d,
    nn.LazyBatchNorm2d,
    nn.LazyBatchNorm3d,
    nn.SyncBatchNorm,
)


def set_frozen_to_eval(net: nn.Module) -> None:
    """Frozen batch norms run in inference mode, keeping the checkpoint's statistics (as Keras)."""
    for module in net.modules():
        if isinstance(module, BATCH_NORMS) and not any(
            p.requires_grad for p in module.parameters()
        ):
            module.eval()
