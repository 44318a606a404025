"""E5's small strided CNN for the Kaggle "fingers" set (128x128 greyscale, 6 classes)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from auglab.models.nets.head import HeadNet, linear_head
from auglab.models.nets.init import keras_init
from auglab.models.nets.layers import batch_norm as batch_norm_layer
from auglab.models.nets.shapes import output_shape


class FingersCNN(HeadNet):
    """Conv(64,4,stride 2) relu (BN), Conv(32,3,stride 2) relu (BN), Flatten, head. Logits out.

    Valid convs: 128 -> 63 -> 31, so the head sees 31x31x32 = 30,752 features.
    ``batch_norm`` follows each conv's relu (a Keras ``Conv2D(activation="relu")``
    then ``BatchNormalization``); E5 reports 204,454 parameters for it, Keras's count,
    which includes the BN moving mean and variance (torch buffers).
    """

    MIN_SIZE = 8  # 8 -conv4/2-> 3 -conv3/2-> 1

    def __init__(
        self,
        num_classes: int = 6,
        input_shape: Sequence[int] = (1, 128, 128),
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = input_shape[0]
        for width, kernel in ((64, 4), (32, 3)):
            layers += [nn.Conv2d(channels, width, kernel_size=kernel, stride=2), nn.ReLU()]
            if batch_norm:
                layers.append(batch_norm_layer(width))
            channels = width
        layers.append(nn.Flatten())
        self.features = nn.Sequential(*layers)
        (flat,) = output_shape(self.features, input_shape, "FingersCNN", self.MIN_SIZE)
        self.head = linear_head(flat, num_classes)
        keras_init(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
