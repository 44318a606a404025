"""E3's CIFAR-10 CNN: three double-conv blocks, with its dropout and batch-norm variants."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from auglab.errors import ConfigError
from auglab.models.nets.head import HeadNet, linear_head
from auglab.models.nets.init import keras_init
from auglab.models.nets.layers import batch_norm as batch_norm_layer
from auglab.models.nets.layers import dense_stack
from auglab.models.nets.layers import dropout as dropout_layer
from auglab.models.nets.shapes import output_shape

ACTIVATIONS: dict[str | None, type[nn.Module]] = {None: nn.Identity, "relu": nn.ReLU}


class CifarCNN(HeadNet):
    """[Conv(f,3,same), Conv(f,3,same), (BatchNorm), MaxPool 2, Dropout] for f in ``widths``,
    then Flatten, Dense(128) relu, Dropout, Dense(64) relu, Dropout, head. Logits out.

    Defaults are E3's base model (558,186 parameters on 32x32x3): its convolutions
    have NO activation (``conv_activation=None``; ``"relu"`` adds one after each).
    E3's dropout variant: ``dropout=0.2, widths=[32, 64, 256]``; its batch-norm variant
    adds ``batch_norm=True``: BN after the second conv of each block, after its
    activation when there is one (a Keras ``Conv2D(activation=...)`` then ``BatchNormalization``).
    """

    def __init__(
        self,
        num_classes: int = 10,
        input_shape: Sequence[int] = (3, 32, 32),
        widths: Sequence[int] = (32, 64, 128),
        dropout: float = 0.0,
        batch_norm: bool = False,
        conv_activation: str | None = None,
    ) -> None:
        super().__init__()
        if conv_activation not in ACTIVATIONS:
            raise ConfigError(
                f"model.net.conv_activation={conv_activation}: use null (E3's base) or relu"
            )
        if len(widths) == 0:
            raise ConfigError(
                "model.net.widths is empty: give one width per block, e.g. [32,64,128]"
            )
        act = ACTIVATIONS[conv_activation]
        layers: list[nn.Module] = []
        channels = input_shape[0]
        for width in map(int, widths):
            layers += [
                nn.Conv2d(channels, width, kernel_size=3, padding="same"),
                act(),
                nn.Conv2d(width, width, kernel_size=3, padding="same"),
                act(),
            ]
            if batch_norm:
                layers.append(batch_norm_layer(width))
            layers += [nn.MaxPool2d(2), dropout_layer(dropout)]
            channels = width
        layers.append(nn.Flatten())
        self.features = nn.Sequential(*layers)
        min_size = 2 ** len(widths)  # one 2x2 pool per block
        (flat,) = output_shape(self.features, input_shape, "CifarCNN", min_size)
        self.hidden = dense_stack(flat, [128, 64], drop=dropout)
        self.head = linear_head(64, num_classes)
        keras_init(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.hidden(self.features(x)))
