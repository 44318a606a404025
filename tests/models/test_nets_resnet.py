"""ResNet (any size) and ResNet18Transfer (torchvision's, pretrained): shapes, knobs, weights."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from auglab.errors import ConfigError
from auglab.models.nets import ResNet, ResNet18Transfer
from auglab.models.nets.pretrained import hub_checkpoint_path
from auglab.models.nets.resnet import stem_halvings
from auglab.models.nets.resnet18 import IMAGENET


def params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def last_map(net: ResNet, x: torch.Tensor) -> tuple[int, ...]:
    return tuple(net.post(net.stages(net.stem(x))).shape[1:])


@pytest.mark.parametrize(
    ("side", "halvings"),
    [(8, 0), (28, 0), (32, 0), (33, 1), (64, 1), (65, 2), (96, 2), (128, 2), (129, 3)],
)
def test_stem_halves_until_the_shorter_side_is_at_most_32(side, halvings):
    assert stem_halvings(side, side) == halvings
    assert stem_halvings(side, 500) == halvings  # the shorter side decides


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(("side", "final"), [(32, 8), (64, 8), (96, 6), (128, 8)])
def test_any_size_ends_in_a_small_map_and_gives_one_logit_per_class(channels, side, final):
    net = ResNet(num_classes=7, input_shape=(channels, side, side)).eval()
    x = torch.rand(2, channels, side, side)
    assert last_map(net, x) == (64, final, final)
    assert net(x).shape == (2, 7)
    assert net.num_classes == 7


def test_parameters_do_not_depend_on_image_size_and_odd_channel_counts_work():
    sizes = {params(ResNet(num_classes=5, input_shape=(1, s, s))) for s in (28, 32, 64, 96, 128)}
    # stem 1*16*9; stages 9,344 + 32,992 + 131,520 with their batch norms; BN 128; head 325
    assert sizes == {144 + 9_344 + 32_992 + 131_520 + 128 + 325}
    assert ResNet(num_classes=3, input_shape=(5, 40, 24)).eval()(
        torch.rand(1, 5, 40, 24)
    ).shape == (1, 3)


def test_width_and_blocks_knobs_change_the_parameter_count():
    base = params(ResNet(num_classes=10, input_shape=(3, 32, 32)))
    wide = params(ResNet(num_classes=10, input_shape=(3, 32, 32), width=32))
    assert 3.9 * base < wide < 4.1 * base  # convolutions grow with width squared
    assert ResNet(num_classes=10, input_shape=(3, 32, 32), width=32).head.in_features == 128
    # blocks=3 at width 16 is the paper's ResNet-20: 0.27M parameters
    assert params(ResNet(num_classes=10, input_shape=(3, 32, 32), blocks=3)) == 272_282


def test_too_small_input_and_bad_knobs_are_one_line_config_errors():
    assert ResNet(num_classes=4, input_shape=(1, 8, 8)).eval()(torch.rand(1, 1, 8, 8)).shape == (
        1,
        4,
    )
    with pytest.raises(
        ConfigError, match=r"^ResNet needs images of at least 8x8 but the data gives 7x8"
    ):
        ResNet(num_classes=4, input_shape=(1, 7, 8))
    with pytest.raises(ConfigError, match=r"model.net.width=0 must be a whole number >= 1"):
        ResNet(num_classes=4, input_shape=(1, 32, 32), width=0)
    with pytest.raises(ConfigError, match=r"model.net.blocks=1.5 must be a whole number"):
        ResNet(num_classes=4, input_shape=(1, 32, 32), blocks=1.5)
    with pytest.raises(ConfigError, match=r"model.net.dropout=1 .*\[0, 1\)"):
        ResNet(num_classes=4, input_shape=(1, 32, 32), dropout=1)


def test_reset_head_keeps_the_backbone_at_any_size():
    net = ResNet(num_classes=10, input_shape=(3, 96, 96))
    before = {k: v.clone() for k, v in net.state_dict().items() if not k.startswith("head.")}
    net.reset_head(3)
    after = net.state_dict()
    assert net.num_classes == 3 and net.eval()(torch.rand(2, 3, 96, 96)).shape == (2, 3)
    assert all(torch.equal(after[k], v) for k, v in before.items())


def test_convolutions_start_kaiming_normal_and_the_head_as_reset_head_makes_it():
    torch.manual_seed(0)
    net = ResNet(num_classes=10, input_shape=(3, 32, 32), width=64)
    conv = net.stages[2][1].conv1.weight  # 256 -> 256 channels: fan-in 256 * 9
    assert conv.std().item() == pytest.approx((2 / (256 * 9)) ** 0.5, rel=0.05)
    stem = net.stem[0].weight  # 3 channels: fan-in 27, not fan-out 64 * 9
    assert stem.std().item() == pytest.approx((2 / 27) ** 0.5, rel=0.15)
    assert torch.all(net.head.bias == 0)


@pytest.mark.slow
def test_a_few_sgd_steps_lower_the_loss_on_a_tiny_batch():
    torch.manual_seed(0)
    net = ResNet(num_classes=3, input_shape=(1, 64, 64), dropout=0.2)
    x, y = torch.rand(8, 1, 64, 64), torch.arange(8) % 3
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


@pytest.fixture(scope="module")
def resnet18_state() -> dict[str, torch.Tensor]:
    """A randomly initialised torchvision resnet18's state_dict, its 1000-class fc included."""
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).state_dict()


def test_local_state_dict_file_loads_every_layer_but_imagenets_classifier(resnet18_state, tmp_path):
    path = tmp_path / "resnet18.pth"
    torch.save(resnet18_state, path)
    net = ResNet18Transfer(num_classes=5, input_shape=(3, 64, 64), weights=str(path))
    loaded = net.backbone.state_dict()
    assert set(loaded) == {k for k in resnet18_state if not k.startswith("fc.")}
    assert all(torch.equal(v, resnet18_state[k]) for k, v in loaded.items())
    assert net.eval()(torch.rand(2, 3, 64, 64)).shape == (2, 5)


def test_files_without_batch_norm_step_counters_load_as_imagenets_2017_file(
    resnet18_state, tmp_path
):
    old = {k: v for k, v in resnet18_state.items() if not k.endswith("num_batches_tracked")}
    torch.save(old, tmp_path / "old.pth")
    net = ResNet18Transfer(
        num_classes=5, input_shape=(3, 32, 32), weights=str(tmp_path / "old.pth")
    )
    assert torch.equal(net.backbone.layer4[1].bn2.running_var, old["layer4.1.bn2.running_var"])
    assert net.backbone.bn1.num_batches_tracked.item() == 0


def test_imagenet_offline_without_the_file_is_one_line_naming_where_to_put_it(offline, tmp_path):
    with pytest.raises(ConfigError) as err:
        ResNet18Transfer(num_classes=10, input_shape=(3, 32, 32), weights="imagenet")
    message = str(err.value)
    where = tmp_path / "torch_home" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert hub_checkpoint_path(IMAGENET) == where
    assert message.startswith("pretrained ResNet18 weights unavailable (URLError")
    assert f"put the torchvision file at {where} or set model.net.weights=" in message
    assert "\n" not in message
    assert offline == [IMAGENET.url]


def test_imagenet_weights_are_read_from_the_torch_hub_cache(offline, resnet18_state):
    hub_checkpoint_path(IMAGENET).parent.mkdir(parents=True)
    torch.save(resnet18_state, hub_checkpoint_path(IMAGENET))
    net = ResNet18Transfer(num_classes=10, input_shape=(1, 32, 32), weights="imagenet")
    assert torch.equal(net.backbone.conv1.weight, resnet18_state["conv1.weight"])
    assert offline == []  # no download attempted


def test_foreign_weight_files_are_config_errors(tmp_path):
    foreign = tmp_path / "vgg.pth"
    torch.save({"conv1.weight": torch.zeros(8, 3, 3, 3)}, foreign)
    with pytest.raises(
        ConfigError,
        match=r"lacks ResNet18's layers .*: bn1.bias, bn1.running_mean, .*resnet18 state_dict",
    ):
        ResNet18Transfer(num_classes=10, input_shape=(3, 32, 32), weights=str(foreign))
    with pytest.raises(ConfigError, match=r"no such file; give a torchvision ResNet18 state_dict"):
        ResNet18Transfer(num_classes=10, input_shape=(3, 32, 32), weights=str(tmp_path / "no.pth"))


def test_greyscale_is_repeated_and_normalize_maps_to_imagenet_statistics():
    torch.manual_seed(0)
    net = ResNet18Transfer(num_classes=6, input_shape=(1, 32, 32)).eval()
    raw = ResNet18Transfer(num_classes=6, input_shape=(1, 32, 32), normalize=False).eval()
    raw.load_state_dict(net.state_dict())
    grey = torch.rand(2, 1, 32, 32)
    assert torch.equal(net(grey), net(grey.repeat(1, 3, 1, 1)))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    assert torch.allclose(net(grey), raw((grey - mean) / std), atol=1e-5)
    with pytest.raises(ConfigError, match="ResNet18Transfer takes 1- or 3-channel"):
        ResNet18Transfer(num_classes=6, input_shape=(4, 32, 32))
    with pytest.raises(ConfigError, match="at least 32x32"):
        ResNet18Transfer(num_classes=6, input_shape=(3, 31, 64))
