"""The head contract shared by every network: ``num_classes``, ``head``, ``reset_head``.

Everything but ``head`` is the backbone: transfer learning loads every parameter
not under ``head.`` from a checkpoint and may freeze it, so only the head's shape
may depend on the class count.
"""

from __future__ import annotations

from torch import nn

from auglab.checks import check_int
from auglab.models.nets.init import keras_init


def _check_classes(num_classes: int) -> int:
    return check_int(
        num_classes,
        "num_classes",
        2,
        hint="a classifier needs two classes or more: check the datamodule's class names",
    )


def linear_head(in_features: int, num_classes: int) -> nn.Linear:
    """A Dense(num_classes) layer (nets run ``keras_init`` over themselves once built)."""
    return nn.Linear(in_features, _check_classes(num_classes))


def conv_head(in_channels: int, num_classes: int) -> nn.Conv2d:
    """A 1x1 convolution to num_classes maps, the classifier of all-convolutional nets."""
    return nn.Conv2d(in_channels, _check_classes(num_classes), kernel_size=1)


class HeadNet(nn.Module):
    """Base of the nets: ``head`` is the last layer with parameters, sized by the class count.

    ``num_classes`` is read off the head, so it can never disagree with it.
    """

    head: nn.Linear | nn.Conv2d

    @property
    def num_classes(self) -> int:
        head = self.head
        return head.out_features if isinstance(head, nn.Linear) else head.out_channels

    def reset_head(self, num_classes: int) -> None:
        """Replace the head by a fresh one of the same kind (as timm's ``reset_classifier``)."""
        old = self.head
        if isinstance(old, nn.Linear):
            new = linear_head(old.in_features, num_classes)
        else:
            new = conv_head(old.in_channels, num_classes)
        keras_init(new)
        self.head = new.to(device=old.weight.device, dtype=old.weight.dtype)
