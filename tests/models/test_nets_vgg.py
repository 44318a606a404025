"""VGG16Transfer: torchvision's VGG16 layers, its three weight sources, input handling."""

from __future__ import annotations

import pytest
import torch
import torchvision

from auglab.errors import ConfigError
from auglab.models.nets import VGG16Transfer
from auglab.models.nets.vgg import imagenet_cache_path


@pytest.fixture(scope="module")
def vgg16_state() -> dict[str, torch.Tensor]:
    """A randomly initialised torchvision vgg16's features, plus one classifier layer to ignore."""
    torch.manual_seed(0)
    state = torchvision.models.vgg16(weights=None).state_dict()
    return {k: v for k, v in state.items() if k.startswith(("features.", "classifier.6."))}


def features_of(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}


@pytest.mark.slow
def test_features_are_torchvisions_vgg16_features(vgg16_state):
    ours = VGG16Transfer(num_classes=10, input_shape=(3, 32, 32)).features.state_dict()
    theirs = features_of(vgg16_state)
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in theirs.items()}


@pytest.mark.slow
def test_local_state_dict_file_loads_its_features(vgg16_state, tmp_path):
    path = tmp_path / "vgg16.pth"
    torch.save(vgg16_state, path)
    net = VGG16Transfer(num_classes=10, input_shape=(3, 32, 32), weights=str(path))
    loaded = net.features.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in features_of(vgg16_state).items())
    assert net.eval()(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_imagenet_without_network_is_a_config_error_naming_the_fixes(offline):
    with pytest.raises(ConfigError) as err:
        VGG16Transfer(num_classes=10, input_shape=(3, 32, 32), weights="imagenet")
    message = str(err.value)
    assert message.startswith("pretrained VGG16 weights unavailable (URLError")
    assert str(imagenet_cache_path()) in message
    assert "model.net.weights=<path to .pth> or model.net.weights=null" in message
    assert offline == [torchvision.models.VGG16_Weights.IMAGENET1K_V1.url]


def test_imagenet_weights_are_read_from_the_torch_hub_cache(offline, vgg16_state):
    imagenet_cache_path().parent.mkdir(parents=True)
    torch.save(vgg16_state, imagenet_cache_path())
    net = VGG16Transfer(num_classes=10, input_shape=(3, 32, 32), weights="imagenet")
    assert torch.equal(net.features[0].weight, vgg16_state["features.0.weight"])
    assert offline == []  # no download attempted


def test_missing_or_foreign_weight_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"no such file; give a torchvision VGG16 state_dict"):
        VGG16Transfer(num_classes=10, input_shape=(3, 32, 32), weights=str(tmp_path / "no.pth"))
    foreign = tmp_path / "resnet.pth"
    torch.save({"features.0.weight": torch.zeros(8, 3, 3, 3)}, foreign)
    with pytest.raises(ConfigError, match=r"lacks VGG16's features .*features.0.bias"):
        VGG16Transfer(num_classes=10, input_shape=(3, 32, 32), weights=str(foreign))


@pytest.mark.slow
def test_greyscale_input_is_repeated_to_three_channels():
    net = VGG16Transfer(num_classes=6, input_shape=(1, 32, 32)).eval()
    grey = torch.rand(2, 1, 32, 32)
    assert torch.equal(net(grey), net(grey.repeat(1, 3, 1, 1)))
    with pytest.raises(ConfigError, match="1- or 3-channel"):
        VGG16Transfer(num_classes=6, input_shape=(2, 32, 32))


@pytest.mark.slow
def test_normalize_maps_unit_pixels_to_imagenet_statistics_without_saving_them():
    torch.manual_seed(0)
    net = VGG16Transfer(num_classes=10, input_shape=(3, 32, 32)).eval()
    raw = VGG16Transfer(num_classes=10, input_shape=(3, 32, 32), normalize=False).eval()
    raw.load_state_dict(net.state_dict())
    x = torch.rand(2, 3, 32, 32)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    assert torch.allclose(net(x), raw((x - mean) / std), atol=1e-5)
    assert not torch.allclose(net(x), raw(x), atol=1e-3)
    assert not any(k in net.state_dict() for k in ("mean", "std"))
