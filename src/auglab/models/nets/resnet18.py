"""torchvision's ResNet-18 (He et al. 2016, CVPR) as a backbone, optionally ImageNet-pretrained."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn
from torchvision.models import ResNet18_Weights, resnet18

from auglab.models.nets.head import HeadNet, linear_head
from auglab.models.nets.init import keras_init
from auglab.models.nets.layers import dropout as dropout_layer
from auglab.models.nets.pretrained import (
    ImageNetInput,
    check_rgb_or_grey,
    matching_state,
    read_state,
)
from auglab.models.nets.shapes import require_min_size

IMAGENET = ResNet18_Weights.IMAGENET1K_V1


class ResNet18Transfer(HeadNet):
    """ImageNet input handling, torchvision's resnet18 up to its global average pool
    (512 features), Dropout, head. Logits out.

    ``weights``: ``null`` (torchvision's random init), ``imagenet`` (torchvision's
    ``ResNet18_Weights.IMAGENET1K_V1``, from the torch hub cache or downloaded; offline
    without it, the error names the file's place), or the path of a torchvision
    resnet18 ``state_dict`` (.pth); its 1000-class ``fc`` is dropped. ``normalize``
    (default on) maps the data's [0, 1] pixels to ImageNet's mean/std, as the weights
    expect; off when the data is already normalised. Greyscale is repeated to 3 channels.

    The net divides the side by 32 (a stride-2 conv, a max pool, three stride-2
    stages): 32 px ends at 1x1, 128 px at 4x4, ImageNet's 224 px at 7x7. For images
    of 32-64 px the small ``ResNet`` keeps more of them; the pretrained filters pay off
    with few images.
    """

    MIN_SIZE = 32  # five halvings down to 1x1

    def __init__(
        self,
        num_classes: int = 10,
        input_shape: Sequence[int] = (3, 224, 224),
        weights: str | None = None,
        normalize: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_rgb_or_grey("ResNet18Transfer", input_shape)
        require_min_size("ResNet18Transfer", input_shape, self.MIN_SIZE)
        self.imagenet_input = ImageNetInput(IMAGENET, normalize)
        # torchvision's conv1, bn1, relu, maxpool, layer1-4 and avgpool, under their own
        # names (a torchvision state_dict loads as is); its fc gives way to our head.
        self.backbone = resnet18(weights=None)
        self.backbone.fc = nn.Identity()
        self.drop = dropout_layer(dropout)
        self.head = linear_head(512, num_classes)
        keras_init(self.head)
        if weights is not None:
            state = read_state(str(weights), IMAGENET, "ResNet18", "resnet18")
            self.backbone.load_state_dict(
                matching_state(
                    state, self.backbone, "", str(weights), "ResNet18's layers", "resnet18"
                )
            )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.drop(self.backbone(self.imagenet_input(x))))
