"""E5's dense networks on flattened pixels: softmax regression and MLPs."""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn

from auglab.models.nets.head import HeadNet, linear_head
from auglab.models.nets.init import keras_init
from auglab.models.nets.layers import dense_stack


class MLP(HeadNet):
    """Flatten, [Dense(h) (BatchNorm) relu] for h in ``hidden``, head. Logits out.

    ``hidden=[]`` is softmax regression (one Dense over C*H*W pixels: 16,384 for
    128x128x1); E5 also uses ``[128]`` and ``[128, 64, 32]``. ``batch_norm`` goes
    BEFORE each relu, as E5 says. Any image size works.
    """

    def __init__(
        self,
        num_classes: int = 6,
        input_shape: Sequence[int] = (1, 128, 128),
        hidden: Sequence[int] = (128,),
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        pixels = math.prod(int(d) for d in input_shape)
        self.hidden = dense_stack(pixels, hidden, norm=batch_norm)
        self.head = linear_head(int(hidden[-1]) if hidden else pixels, num_classes)
        keras_init(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.hidden(self.flatten(x)))
