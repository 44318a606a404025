"""What the ImageNet-pretrained nets share: where torchvision's weights live, how a
``weights`` setting is read and checked, and the input those weights expect.

``weights`` is ``imagenet`` (torchvision's file, from the torch hub cache or downloaded),
the path of a torchvision ``state_dict`` (.pth), or ``null`` (random init). Offline with
no cached file, the error names the exact path to put torchvision's file at.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import Tensor, nn
from torchvision.models import WeightsEnum

from auglab.errors import ConfigError
from auglab.models.transfer import load_torch_file

SHOWN = 4  # missing or misshapen tensors named in an error
STEPS = "num_batches_tracked"


def hub_checkpoint_path(weights: WeightsEnum) -> Path:
    """Where torch hub looks for (and downloads) ``weights``' file: <hub dir>/checkpoints/<name>."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(weights.url).path).name


def read_state(weights: str, imagenet: WeightsEnum, net: str, builder: str) -> dict[str, Tensor]:
    """The tensors ``model.net.weights`` names: ``imagenet`` or a state_dict file.

    ``builder`` is the torchvision function whose ``state_dict()`` the file should hold
    (``vgg16``), named in the fix.
    """
    if weights == "imagenet":
        try:
            return imagenet.get_state_dict(progress=False)
        except Exception as err:  # offline, refused, truncated: one message, one set of fixes
            raise ConfigError(
                f"pretrained {net} weights unavailable ({type(err).__name__}: {err}): put the "
                f"torchvision file at {hub_checkpoint_path(imagenet)} or set "
                "model.net.weights=<path to .pth> or model.net.weights=null"
            ) from None
    state = load_torch_file(
        weights,
        "model.net.weights",
        f"give a torchvision {net} state_dict (.pth, saved with torch.save(torchvision."
        f"models.{builder}(...).state_dict(), path)), imagenet, or null",
        weights_only=True,
    )
    if not isinstance(state, dict):
        raise ConfigError(
            f"model.net.weights={weights} holds no state_dict: save model.state_dict()"
        )
    return state


def matching_state(
    state: dict[str, Tensor], module: nn.Module, prefix: str, weights: str, what: str, builder: str
) -> dict[str, Tensor]:
    """The tensors of ``state`` under ``prefix`` that ``module`` holds, all present and of its shapes.

    ``what`` names the part in the error ("VGG16's features"); tensors ``module`` lacks
    (ImageNet's 1000-class classifier) are ignored.
    """
    found = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    # Files saved before torch 0.4.1 (ImageNet's resnet18, 2017) have no batch-norm step
    # counters; batch norm fills them in on load, and nothing in training reads them.
    wanted = {k: v for k, v in module.state_dict().items() if k in found or not k.endswith(STEPS)}
    bad = sorted(k for k in wanted if k not in found or found[k].shape != wanted[k].shape)
    if bad:
        raise ConfigError(
            f"model.net.weights={weights} lacks {what} (missing or misshapen: "
            f"{', '.join(prefix + k for k in bad[:SHOWN])}): give a torchvision {builder} "
            "state_dict"
        )
    return {k: found[k] for k in wanted}


def check_rgb_or_grey(net: str, input_shape: Sequence[int]) -> None:
    """ImageNet filters take 3 channels; greyscale is repeated, anything else is refused."""
    channels = int(input_shape[0])
    if channels not in (1, 3):
        raise ConfigError(
            f"{net} takes 1- or 3-channel images but the data gives {channels}: "
            "use RGB or greyscale data"
        )


class ImageNetInput(nn.Module):
    """Greyscale repeated to 3 channels, then (``normalize``) ImageNet's mean/std.

    The data gives [0, 1] pixels; torchvision's weights were trained on them
    normalised. The statistics are fixed, non-saved buffers (no checkpoint key).
    """

    def __init__(self, weights: WeightsEnum, normalize: bool = True) -> None:
        super().__init__()
        self.normalize = bool(normalize)
        transform = weights.transforms()
        self.register_buffer(
            "mean", torch.tensor(transform.mean).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer("std", torch.tensor(transform.std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return (x - self.mean) / self.std if self.normalize else x
