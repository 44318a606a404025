"""E3's transfer-learning net: VGG16's convolutional part (Simonyan & Zisserman 2014) + a small head."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import Tensor, nn
from torchvision.models import VGG16_Weights
from torchvision.models.vgg import cfgs, make_layers

from auglab.errors import ConfigError
from auglab.models.nets.head import HeadNet, linear_head
from auglab.models.nets.init import keras_init
from auglab.models.nets.layers import dense_stack
from auglab.models.nets.shapes import require_min_size
from auglab.models.transfer import load_torch_file

IMAGENET = VGG16_Weights.IMAGENET1K_V1
FEATURES = "features."


class VGG16Transfer(HeadNet):
    """VGG16 features, global average pool, Dense(128) relu, Dropout .2, Dense(64) relu,
    Dropout .2, head. Logits out. Runs at the data's size (E3: 32x32 -> 1x1x512).

    ``weights``: ``null`` (Keras-style random init), ``imagenet`` (torchvision's
    ``VGG16_Weights.IMAGENET1K_V1``, from the torch hub cache or downloaded), or the
    path of a torchvision VGG16 ``state_dict`` (.pth); only its ``features.*`` are used.
    ``normalize`` (default on) maps the [0, 1] pixels the data gives to ImageNet's
    mean/std inside the net, as torchvision's weights expect (fixed, non-saved
    buffers); E3's notebook fed /255 pixels unnormalised: ``normalize=false``.
    Greyscale input is repeated to 3 channels, so the ImageNet filters see grey images.
    """

    MIN_SIZE = 32  # five 2x2 pools

    def __init__(
        self,
        num_classes: int = 10,
        input_shape: Sequence[int] = (3, 32, 32),
        weights: str | None = None,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        channels = int(input_shape[0])
        if channels not in (1, 3):
            raise ConfigError(
                f"VGG16Transfer takes 1- or 3-channel images but the data gives {channels}: "
                "use RGB or greyscale data"
            )
        require_min_size("VGG16Transfer", input_shape, self.MIN_SIZE)
        # Exactly the layers of torchvision's vgg16().features (a test compares them),
        # without allocating the 120M-parameter ImageNet classifier we would discard.
        self.features = make_layers(cfgs["D"])
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.hidden = dense_stack(512, [128, 64], drop=0.2)
        self.head = linear_head(64, num_classes)
        keras_init(self)
        if weights is not None:
            self.features.load_state_dict(_features_state(str(weights), self.features))
        self.normalize = bool(normalize)
        transform = IMAGENET.transforms()
        self.register_buffer(
            "mean", torch.tensor(transform.mean).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer("std", torch.tensor(transform.std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if self.normalize:
            x = (x - self.mean) / self.std
        return self.head(self.hidden(self.pool(self.features(x))))


def imagenet_cache_path() -> Path:
    """Where torch hub looks for (and downloads) torchvision's ImageNet VGG16 file."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(IMAGENET.url).path).name


def _read_state(weights: str) -> dict[str, Tensor]:
    if weights == "imagenet":
        try:
            return IMAGENET.get_state_dict(progress=False)
        except Exception as err:  # offline, refused, truncated: one message, one set of fixes
            raise ConfigError(
                f"pretrained VGG16 weights unavailable ({type(err).__name__}: {err}): put the "
                f"torchvision file at {imagenet_cache_path()} or set "
                "model.net.weights=<path to .pth> or model.net.weights=null"
            ) from None
    state = load_torch_file(
        weights,
        "model.net.weights",
        "give a torchvision VGG16 state_dict (.pth, saved with "
        "torch.save(torchvision.models.vgg16(...).state_dict(), path)), imagenet, or null",
        weights_only=True,
    )
    if not isinstance(state, dict):
        raise ConfigError(
            f"model.net.weights={weights} holds no state_dict: save model.state_dict()"
        )
    return state


def _features_state(weights: str, features: nn.Module) -> dict[str, Tensor]:
    """The ``features.*`` tensors of ``weights``, checked against VGG16's layers."""
    found = {
        k[len(FEATURES) :]: v for k, v in _read_state(weights).items() if k.startswith(FEATURES)
    }
    wanted = features.state_dict()
    bad = sorted(k for k in wanted if k not in found or found[k].shape != wanted[k].shape)
    if bad:
        raise ConfigError(
            f"model.net.weights={weights} lacks VGG16's features (missing or misshapen: "
            f"{', '.join(FEATURES + k for k in bad[:4])}): give a torchvision vgg16 state_dict"
        )
    return {k: found[k] for k in wanted}
