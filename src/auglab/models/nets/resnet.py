"""A small pre-activation residual network for any image size, channel count and class count.

He, Zhang, Ren & Sun 2016, "Identity Mappings in Deep Residual Networks" (ECCV): the
CIFAR ResNet of "Deep Residual Learning for Image Recognition" (CVPR 2016, section 4.2)
with each block's batch norm and ReLU moved before its convolutions.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from auglab.checks import check_int
from auglab.models.nets.head import HeadNet, linear_head
from auglab.models.nets.init import keras_init
from auglab.models.nets.layers import dropout as dropout_layer
from auglab.models.nets.shapes import require_min_size

#: The side the stages start from: three stages (strides 1, 2, 2) then end at 1/4 of it.
STAGE_SIDE = 32


def stem_halvings(height: int, width: int) -> int:
    """How often the stem halves the image: until the shorter side is <= 32 px.

    28-32 px: 0; 33-64 px: 1; 65-128 px: 2; 129-256 px: 3. The stages then start at
    17-32 px and end at 5-8 px (7x7 for MNIST's 28 px), so the cost per image stays
    near a 32 px image's whatever the size.
    """
    side, halvings = min(int(height), int(width)), 0
    while side > STAGE_SIDE << halvings:
        halvings += 1
    return halvings


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 3x3 'same' convolution without bias (a batch norm follows it or precedes the next)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


class PreActBlock(nn.Module):
    """BN, ReLU, Conv3x3(stride), BN, ReLU, Conv3x3, added to the input.

    When the block changes width or size the shortcut is a strided 1x1 conv of the
    pre-activated input (the paper's projection shortcut); otherwise the input itself.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = (
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
            if stride != 1 or in_channels != out_channels
            else None
        )

    def forward(self, x: Tensor) -> Tensor:
        pre = self.relu(self.bn1(x))
        skip = x if self.shortcut is None else self.shortcut(pre)
        return skip + self.conv2(self.relu(self.bn2(self.conv1(pre))))


def stage(in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Sequential:
    """``blocks`` blocks at one width; the first one strides and widens."""
    return nn.Sequential(
        PreActBlock(in_channels, out_channels, stride),
        *(PreActBlock(out_channels, out_channels) for _ in range(blocks - 1)),
    )


class ResNet(HeadNet):
    """Stem, three stages of ``blocks`` pre-activation blocks (``width``, 2x, 4x channels;
    strides 1, 2, 2), BN, ReLU, global average pool, Dropout, head. Logits out.

    Built from the data's shape: the stem is a Conv3x3 of stride 1, or of stride 2
    followed by ``stem_halvings - 1`` MaxPool(3, 2) when the shorter side is over 32 px,
    so the last stage's map is 8x8 at 32, 64 and 128 px, 6x6 at 96 px, 7x7 at 28 px
    (between 5 and 8 above 32 px); the pool then makes any size give 4 * ``width``
    features. Needs 8 px (a 2x2 last map: batch norm needs more than one value).
    ``blocks=3`` with ``width=16`` is the paper's ResNet-20 (0.27M parameters);
    the default ``blocks=2`` (ResNet-14) is 2/3 of its cost, for CPUs.

    Convolutions start Kaiming-normal (He et al. 2015, as in the paper), fan-in: there is
    no Keras reference to match, Glorot's smaller variance shrinks the signal through ReLU
    stacks, and fan-in brings the stem's output on raw [0, 1] pixels nearer the unit
    variance batch norm's running estimate starts from (MNIST, first batch norm after
    one epoch on 1,000 images: batch variance 0.24 with fan-in, 0.014 with fan-out, whose
    lagging estimate gave 12% evaluation accuracy against 23%). The head keeps
    ``keras_init``, as ``reset_head``. Batch norm keeps torch's momentum (0.1), not
    Keras's 0.01, so its running statistics follow the weights within tens of steps;
    with fewer (one epoch on 1,000 images is 16) evaluation lags training-mode accuracy.
    """

    MIN_SIZE = 8

    def __init__(
        self,
        num_classes: int = 10,
        input_shape: Sequence[int] = (3, 32, 32),
        width: int = 16,
        blocks: int = 2,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        width = check_int(width, "model.net.width", 1, hint="channels of the first stage, e.g. 16")
        blocks = check_int(blocks, "model.net.blocks", 1, hint="residual blocks per stage, e.g. 2")
        require_min_size("ResNet", input_shape, self.MIN_SIZE)
        channels, height, side = (int(d) for d in input_shape)
        halvings = stem_halvings(height, side)
        self.stem = nn.Sequential(
            conv3x3(channels, width, stride=2 if halvings else 1),
            *(nn.MaxPool2d(3, stride=2, padding=1) for _ in range(halvings - 1)),
        )
        self.stages = nn.Sequential(
            stage(width, width, blocks, stride=1),
            stage(width, 2 * width, blocks, stride=2),
            stage(2 * width, 4 * width, blocks, stride=2),
        )
        self.post = nn.Sequential(nn.BatchNorm2d(4 * width), nn.ReLU(inplace=True))
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.drop = dropout_layer(dropout)
        self.head = linear_head(4 * width, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        keras_init(self.head)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.drop(self.pool(self.post(self.stages(self.stem(x))))))
