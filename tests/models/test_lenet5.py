"""LeNet5: E1's layers, its head, and the shape check."""

from __future__ import annotations

import pytest
import torch

from auglab.errors import ConfigError
from auglab.models.nets import LeNet5


def test_output_shape_and_parameter_count():
    net = LeNet5(num_classes=10, input_shape=(1, 32, 32))
    assert net(torch.zeros(3, 1, 32, 32)).shape == (3, 10)
    # conv 156 + 2,416 + 48,120, dense 10,164, head 850 (Keras summary of E1's model)
    assert sum(p.numel() for p in net.parameters()) == 61_706


def test_layers_are_e1s():
    convs = [m for m in LeNet5().features if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size) for c in convs] == [
        (6, (5, 5)),
        (16, (5, 5)),
        (120, (5, 5)),
    ]
    assert any(isinstance(m, torch.nn.AvgPool2d) for m in LeNet5().features)
    assert any(isinstance(m, torch.nn.Tanh) for m in LeNet5().features)


def test_reset_head_keeps_backbone_and_changes_classes():
    net = LeNet5(num_classes=10)
    before = net.features[0].weight.clone()
    net.reset_head(2)
    assert net(torch.zeros(1, 1, 32, 32)).shape == (1, 2)
    assert net.num_classes == 2
    assert torch.equal(net.features[0].weight, before)


def test_28x28_input_is_refused_with_the_fix():
    with pytest.raises(ConfigError, match="data.pad_to=32"):
        LeNet5(input_shape=(1, 28, 28))
