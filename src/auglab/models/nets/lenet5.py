"""LeNet-5 as in E1 (LeCun et al. 1998, tanh + average pooling), 32x32 inputs."""

from __future__ import annotations

from torch import Tensor, nn

from auglab.errors import ConfigError
from auglab.models.nets.init import keras_init


class LeNet5(nn.Module):
    """Conv(6,5) tanh, AvgPool 2, Conv(16,5) tanh, AvgPool 2, Conv(120,5) tanh, Dense(84) tanh, head.

    Outputs logits; the softmax of the reference lives in the cross-entropy loss.
    """

    def __init__(
        self, num_classes: int = 10, input_shape: tuple[int, int, int] = (1, 32, 32)
    ) -> None:
        super().__init__()
        channels, height, width = input_shape
        if (height, width) != (32, 32):
            raise ConfigError(
                f"LeNet5 needs 32x32 inputs but the data gives {height}x{width}: set data.pad_to=32"
            )
        self.num_classes = num_classes
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
        self.head = nn.Linear(84, num_classes)
        keras_init(self)

    def reset_head(self, num_classes: int) -> None:
        """Replace the classifier for transfer learning (as timm's ``reset_classifier``)."""
        self.head = nn.Linear(self.head.in_features, num_classes)
        keras_init(self.head)
        self.num_classes = num_classes

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
