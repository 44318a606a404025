"""The All-Convolutional net (Springenberg et al. 2014, "Striving for Simplicity") as E4 defines it."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from auglab.errors import ConfigError
from auglab.models.nets.head import HeadNet, conv_head
from auglab.models.nets.init import keras_init
from auglab.models.nets.shapes import output_shape


class AllConvNet(HeadNet):
    """Conv(96,5) MaxPool(3,2) relu, Conv(192,5) MaxPool(3,2) relu, Conv(192,3) relu,
    Conv(192,1) relu, head = Conv(num_classes,1), (relu), Flatten. Logits out.

    ``head`` is the last 1x1 convolution: the last layer with parameters and the only
    one sized by the class count; ``reset_head`` swaps in a 1x1 conv of the new width.
    The reference flattens the head's map straight into the softmax, so the map must
    be 1x1: valid convs take 28 -> 24 -> pool 11 -> 7 -> pool 3 -> 1 (27..30 px work).
    ``global_pool=True`` averages the map instead (the paper's choice), for any size
    from 27 up. ``final_relu`` (the reference's, default on) clips negative logits
    to 0, which kills their gradient: a class whose logit is negative for every image
    stops learning through it; set it false for plain logits.
    """

    MIN_SIZE = 27  # 27 -conv5-> 23 -pool-> 11 -conv5-> 7 -pool-> 3 -conv3-> 1

    def __init__(
        self,
        num_classes: int = 10,
        input_shape: Sequence[int] = (1, 28, 28),
        final_relu: bool = True,
        global_pool: bool = False,
    ) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(input_shape[0], 96, kernel_size=5),
            nn.MaxPool2d(3, stride=2),
            nn.ReLU(),
            nn.Conv2d(96, 192, kernel_size=5),
            nn.MaxPool2d(3, stride=2),
            nn.ReLU(),
            nn.Conv2d(192, 192, kernel_size=3),
            nn.ReLU(),
            nn.Conv2d(192, 192, kernel_size=1),
            nn.ReLU(),
        )
        _, height, width = output_shape(self.features, input_shape, "AllConvNet", self.MIN_SIZE)
        if not global_pool and (height, width) != (1, 1):
            raise ConfigError(
                f"AllConvNet flattens a {height}x{width} map into the logits on "
                f"{input_shape[1]}x{input_shape[2]} images but needs 1x1: use 27..30 px images "
                "(e.g. MNIST with data.pad_to=null) or set model.net.global_pool=true"
            )
        self.head = conv_head(192, num_classes)
        self.final_relu = bool(final_relu)
        self.global_pool = bool(global_pool)
        keras_init(self)

    def forward(self, x: Tensor) -> Tensor:
        logits = self.head(self.features(x))
        if self.final_relu:
            logits = torch.relu(logits)
        if self.global_pool:
            logits = logits.mean(dim=(2, 3))
        return logits.flatten(1)
