"""LeNet-5 (LeCun et al. 1998): E1's tanh/average-pool version and E4's "as in the paper".

Two classes, one family: the two experiments share no layer configuration
(activations, pooling, kernel of the third conv, dropout, input size), so flags
would only switch every line.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from auglab.errors import ConfigError
from auglab.models.nets.head import HeadNet, linear_head
from auglab.models.nets.init import keras_init
from auglab.models.nets.layers import dropout as dropout_layer
from auglab.models.nets.shapes import output_shape


class LeNet5(HeadNet):
    """E1: Conv(6,5) tanh, AvgPool 2, Conv(16,5) tanh, AvgPool 2, Conv(120,5) tanh, Dense(84) tanh, head.

    32x32 inputs. Outputs logits; the softmax of the reference lives in the cross-entropy loss.
    ``dropout`` (0 in E1) drops the 84 hidden features before the head while training
    (``reg=dropout``); a module of its own, so checkpoints keep their keys at any rate.
    """

    def __init__(
        self, num_classes: int = 10, input_shape: Sequence[int] = (1, 32, 32), dropout: float = 0.0
    ) -> None:
        super().__init__()
        channels, height, width = input_shape
        if (height, width) != (32, 32):
            raise ConfigError(
                f"LeNet5 needs 32x32 inputs but the data gives {height}x{width}: set data.pad_to=32"
            )
        self.features = nn.Sequential(
            nn.Conv2d(channels, 6, kernel_size=5),
            nn.Tanh(),
            nn.AvgPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5),
            nn.Tanh(),
            nn.AvgPool2d(2),
            nn.Conv2d(16, 120, kernel_size=5),
            nn.Tanh(),
            nn.Flatten(),
            nn.Linear(120, 84),
            nn.Tanh(),
        )
        self.dropout = dropout_layer(dropout)
        self.head = linear_head(84, num_classes)
        keras_init(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.dropout(self.features(x)))


class LeNet5Classic(HeadNet):
    """E4: Conv(6,5) MaxPool 2 sigmoid, Conv(16,5) MaxPool 2 sigmoid, Dropout, Conv(120,1), Dense(84) sigmoid, head.

    28x28 inputs (valid convs 28->24->12->8->4, so the 1x1 conv gives 4x4x120 = 1,920
    features). ``dropout`` stands in for the paper's partial connections between
    S2 and C3; the 1x1 conv has no activation, as in the reference. Logits out.
    """

    MIN_SIZE = 16  # 16 -conv5-> 12 -pool-> 6 -conv5-> 2 -pool-> 1

    def __init__(
        self,
        num_classes: int = 10,
        input_shape: Sequence[int] = (1, 28, 28),
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(input_shape[0], 6, kernel_size=5),
            nn.MaxPool2d(2),
            nn.Sigmoid(),
            nn.Conv2d(6, 16, kernel_size=5),
            nn.MaxPool2d(2),
            nn.Sigmoid(),
            dropout_layer(dropout),
            nn.Conv2d(16, 120, kernel_size=1),
            nn.Flatten(),
        )
        (flat,) = output_shape(self.features, input_shape, "LeNet5Classic", self.MIN_SIZE)
        self.hidden = nn.Sequential(nn.Linear(flat, 84), nn.Sigmoid())
        self.head = linear_head(84, num_classes)
        keras_init(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.hidden(self.features(x)))
