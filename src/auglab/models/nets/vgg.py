"""E3's transfer-learning net: VGG16's convolutional part (Simonyan & Zisserman 2014) + a small head."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from torch import Tensor, nn
from torchvision.models import VGG16_Weights
from torchvision.models.vgg import cfgs, make_layers

from auglab.models.nets.head import HeadNet, linear_head
from auglab.models.nets.init import keras_init
from auglab.models.nets.layers import dense_stack
from auglab.models.nets.pretrained import (
    ImageNetInput,
    check_rgb_or_grey,
    hub_checkpoint_path,
    matching_state,
    read_state,
)
from auglab.models.nets.shapes import require_min_size

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
        check_rgb_or_grey("VGG16Transfer", input_shape)
        require_min_size("VGG16Transfer", input_shape, self.MIN_SIZE)
        self.imagenet_input = ImageNetInput(IMAGENET, normalize)
        # Exactly the layers of torchvision's vgg16().features (a test compares them),
        # without allocating the 120M-parameter ImageNet classifier we would discard.
        self.features = make_layers(cfgs["D"])
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.hidden = dense_stack(512, [128, 64], drop=0.2)
        self.head = linear_head(64, num_classes)
        keras_init(self)
        if weights is not None:
            state = read_state(str(weights), IMAGENET, "VGG16", "vgg16")
            self.features.load_state_dict(
                matching_state(
                    state, self.features, FEATURES, str(weights), "VGG16's features", "vgg16"
                )
            )

    def forward(self, x: Tensor) -> Tensor:
        x = self.imagenet_input(x)
        return self.head(self.hidden(self.pool(self.features(x))))


def imagenet_cache_path() -> Path:
    """Where torch hub looks for (and downloads) torchvision's ImageNet VGG16 file."""
    return hub_checkpoint_path(IMAGENET)
