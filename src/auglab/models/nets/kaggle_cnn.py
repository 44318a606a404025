"""E2's CNN for the Kaggle digit recogniser (28x28 greyscale digits)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from auglab.models.nets.head import HeadNet, linear_head
from auglab.models.nets.init import keras_init
from auglab.models.nets.layers import dense_stack
from auglab.models.nets.shapes import output_shape


class KaggleCNN(HeadNet):
    """Conv(32,5,same) relu x2, MaxPool 2, Dropout .4, Conv(64,3,same) relu x2, MaxPool 2,
    Dropout .5, Flatten, Dense(384) relu, Dropout .5, head. Logits out.

    ``same`` convs keep the size, so 28x28 gives 7x7x64 = 3,136 features.
    """

    MIN_SIZE = 4  # two 2x2 pools

    def __init__(self, num_classes: int = 10, input_shape: Sequence[int] = (1, 28, 28)) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(input_shape[0], 32, kernel_size=5, padding="same"),
            nn.ReLU(),
            nn.Conv2d(32, 32, kernel_size=5, padding="same"),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout(0.4),
            nn.Conv2d(32, 64, kernel_size=3, padding="same"),
            nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, padding="same"),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout(0.5),
            nn.Flatten(),
        )
        (flat,) = output_shape(self.features, input_shape, "KaggleCNN", self.MIN_SIZE)
        self.hidden = dense_stack(flat, [384], drop=0.5)
        self.head = linear_head(384, num_classes)
        keras_init(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.hidden(self.features(x)))
