"""The networks of E2-E5: shapes, parameter counts, the head contract, shape checks, training."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch import nn

from auglab.errors import ConfigError
from auglab.models.nets import (
    MLP,
    AllConvNet,
    CifarCNN,
    FingersCNN,
    KaggleCNN,
    LeNet5,
    LeNet5Classic,
    ResNet,
    ResNet18Transfer,
    VGG16Transfer,
)

CONF_MODEL = Path(__file__).resolve().parents[2] / "conf" / "model"

# (factory, reference input shape, reference class count, parameters as Keras counts them)
NETS = {
    # conv 156 + 2,416 + 2,040 (1x1) + dense 1,920*84+84 = 161,364 + head 850
    "lenet5_classic": (LeNet5Classic, (1, 28, 28), 10, 166_826),
    # conv 832 + 25,632 + 18,496 + 36,928 + dense 3,136*384+384 = 1,204,608 + head 3,850
    "kaggle_cnn": (KaggleCNN, (1, 28, 28), 10, 1_290_346),
    # E3's printed count: conv 287,008 + dense 262,272 + 8,256 + head 650
    "cifar_cnn": (CifarCNN, (3, 32, 32), 10, 558_186),
    # widths 32,64,256: conv 287,008-73,856-147,584 + 147,712+590,080 = 803,360; BN 4*(32+64+256)
    # = 1,408; dense 4,096*128+128 = 524,416 + 8,256 + head 650
    "cifar_cnn_dropout_bn": (
        partial(CifarCNN, widths=[32, 64, 256], dropout=0.2, batch_norm=True),
        (3, 32, 32),
        10,
        1_338_090,
    ),
    # Keras VGG16 no-top 14,714,688 + dense 65,664 + 8,256 + head 650
    "vgg16_transfer": (VGG16Transfer, (3, 32, 32), 10, 14_789_258),
    # conv 2,496 + 460,992 + 331,968 + 37,056 + head 1x1 conv 1,930
    "allconv": (AllConvNet, (1, 28, 28), 10, 834_442),
    # 16,384*6 + 6
    "softmax_regression": (partial(MLP, hidden=[]), (1, 128, 128), 6, 98_310),
    # 16,384*128+128 = 2,097,280 + head 774
    "mlp": (MLP, (1, 128, 128), 6, 2_098_054),
    # 2,097,280 + 8,256 + 2,080 + head 198 + BN 4*(128+64+32) = 896
    "mlp_bn": (partial(MLP, hidden=[128, 64, 32], batch_norm=True), (1, 128, 128), 6, 2_108_710),
    # conv 1,088 + 18,464 + head 31*31*32*6+6 = 184,518
    "fingers_cnn": (FingersCNN, (1, 128, 128), 6, 204_070),
    # E5's printed count: the same + BN 4*(64+32) = 384
    "fingers_cnn_bn": (partial(FingersCNN, batch_norm=True), (1, 128, 128), 6, 204_454),
    # convs: stem 432 + stages 9,216 + 32,768 + 131,072 (1x1 shortcuts included);
    # BN 4*464 = 1,856; head 650
    "resnet": (ResNet, (3, 32, 32), 10, 175_994),
    # torchvision's 11,689,512 - fc 513,000 + BN statistics 2*4,800 + head 5,130
    "resnet18_transfer": (ResNet18Transfer, (3, 64, 64), 10, 11_191_242),
}
IDS = list(NETS)


def build(name: str, num_classes: int | None = None) -> nn.Module:
    factory, shape, classes, _ = NETS[name]
    return factory(num_classes=num_classes or classes, input_shape=shape)


def keras_param_count(net: nn.Module) -> int:
    """Parameters + BN moving mean/variance: Keras counts those 4 per BN channel."""
    stats = sum(
        b.numel() for n, b in net.named_buffers() if n.endswith(("running_mean", "running_var"))
    )
    return sum(p.numel() for p in net.parameters()) + stats


def backbone(net: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v for k, v in net.state_dict().items() if not k.startswith("head.")}


@pytest.mark.slow
@pytest.mark.parametrize("name", IDS)
def test_forward_gives_one_logit_per_class(name):
    _, shape, classes, _ = NETS[name]
    net = build(name).eval()
    out = net(torch.rand(2, *shape))
    assert out.shape == (2, classes)
    assert net.num_classes == classes


@pytest.mark.parametrize("name", IDS)
def test_parameter_count_is_the_references(name):
    assert keras_param_count(build(name)) == NETS[name][3]


def test_cifar_base_has_e3s_printed_parameter_count():
    net = CifarCNN(num_classes=10, input_shape=(3, 32, 32))
    assert sum(p.numel() for p in net.parameters()) == 558_186


def test_fingers_cnn_with_batch_norm_has_e5s_printed_count_with_bn_statistics():
    net = FingersCNN(num_classes=6, input_shape=(1, 128, 128), batch_norm=True)
    trainable = sum(p.numel() for p in net.parameters())
    assert trainable == 204_454 - 2 * (64 + 32)  # Keras's non-trainable: moving mean and var
    assert keras_param_count(net) == 204_454


@pytest.mark.slow
@pytest.mark.parametrize("name", IDS)
def test_reset_head_changes_width_and_keeps_backbone(name):
    _, shape, _, _ = NETS[name]
    net = build(name)
    before = {k: v.clone() for k, v in backbone(net).items()}
    net.reset_head(3)
    assert net.num_classes == 3
    assert net.eval()(torch.rand(2, *shape)).shape == (2, 3)
    after = backbone(net)
    assert list(after) == list(before)
    assert all(torch.equal(after[k], before[k]) for k in before)


@pytest.mark.slow
@pytest.mark.parametrize("name", IDS)
def test_backbone_parameter_names_do_not_depend_on_num_classes(name):
    ten, two = build(name, 10).state_dict(), build(name, 2).state_dict()
    assert list(ten) == list(two)
    assert {k for k in ten if ten[k].shape != two[k].shape} == {"head.weight", "head.bias"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("factory", "channels", "size"),
    [
        (LeNet5Classic, 1, 16),  # 16 -conv5-> 12 -pool-> 6 -conv5-> 2 -pool-> 1
        (KaggleCNN, 1, 4),  # two 2x2 pools
        (CifarCNN, 3, 8),  # three 2x2 pools
        (AllConvNet, 1, 27),  # 27 -> 23 -> 11 -> 7 -> 3 -> 1
        (FingersCNN, 1, 8),  # 8 -conv4/2-> 3 -conv3/2-> 1
        (VGG16Transfer, 3, 32),  # five 2x2 pools
        (ResNet, 3, 8),  # two stride-2 stages: a 2x2 last map
        (ResNet18Transfer, 1, 32),  # five halvings
    ],
)
def test_smallest_input_works_and_one_pixel_less_is_refused_with_the_fix(factory, channels, size):
    net = factory(num_classes=4, input_shape=(channels, size, size)).eval()
    assert net(torch.rand(1, channels, size, size)).shape == (1, 4)
    with pytest.raises(ConfigError, match=rf"at least {size}x{size} .*data.pad_to={size}"):
        factory(num_classes=4, input_shape=(channels, size - 1, size))


@pytest.mark.slow
@pytest.mark.parametrize("name", IDS)
def test_a_few_adam_steps_lower_the_loss_on_a_fixed_batch(name):
    _, shape, classes, _ = NETS[name]
    torch.manual_seed(0)
    net = build(name)
    x, y = torch.rand(4, *shape), torch.arange(4) % classes
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)

    def loss() -> torch.Tensor:
        torch.manual_seed(1)  # the same dropout masks before and after
        return nn.functional.cross_entropy(net(x), y)

    first = loss().item()
    for _ in range(2):
        opt.zero_grad()
        loss().backward()
        opt.step()
    assert loss().item() < first


def test_allconv_refuses_a_map_bigger_than_1x1_unless_pooled():
    with pytest.raises(ConfigError, match=r"2x2 map .*global_pool=true"):
        AllConvNet(num_classes=10, input_shape=(3, 32, 32))
    net = AllConvNet(num_classes=10, input_shape=(3, 32, 32), global_pool=True).eval()
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.slow
def test_allconv_head_is_its_last_1x1_conv_and_final_relu_is_a_flag():
    net = AllConvNet(num_classes=10, input_shape=(1, 28, 28))
    assert isinstance(net.head, nn.Conv2d) and net.head.kernel_size == (1, 1)
    x = torch.rand(4, 1, 28, 28)
    assert (net(x) >= 0).all()
    plain = AllConvNet(num_classes=10, input_shape=(1, 28, 28), final_relu=False)
    plain.load_state_dict(net.state_dict())
    assert torch.equal(net(x), torch.relu(plain(x)))
    assert (plain(x) < 0).any()


def test_cifar_conv_activation_is_none_by_default_and_relu_on_request():
    base = CifarCNN(num_classes=10, input_shape=(3, 32, 32))
    assert not any(isinstance(m, nn.ReLU) for m in base.features)
    relu = CifarCNN(num_classes=10, input_shape=(3, 32, 32), conv_activation="relu")
    assert sum(isinstance(m, nn.ReLU) for m in relu.features) == 6
    with pytest.raises(ConfigError, match="conv_activation=tanh: use null"):
        CifarCNN(num_classes=10, input_shape=(3, 32, 32), conv_activation="tanh")


def test_mlp_puts_batch_norm_before_each_relu():
    net = MLP(num_classes=6, input_shape=(1, 8, 8), hidden=[16, 8], batch_norm=True)
    kinds = [type(m).__name__ for m in net.hidden if not isinstance(m, nn.Dropout)]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU"] * 2


def test_bad_drop_rate_and_class_count_are_config_errors():
    with pytest.raises(ConfigError, match=r"model.net.dropout=1.5 .*\[0, 1\)"):
        CifarCNN(num_classes=10, input_shape=(3, 32, 32), dropout=1.5)
    with pytest.raises(
        ConfigError, match=r"num_classes=1 must be a whole number >= 2; .*class names"
    ):
        FingersCNN(num_classes=1, input_shape=(1, 128, 128))


def test_lenet5_keeps_its_head_contract():
    net = LeNet5(num_classes=10, input_shape=(1, 32, 32))
    net.reset_head(2)
    assert net.num_classes == 2 and net.head.out_features == 2


@pytest.mark.slow
@pytest.mark.parametrize(
    ("yaml", "shape", "classes"),
    [
        ("lenet5", (1, 32, 32), 10),
        ("lenet5_classic", (1, 28, 28), 10),
        ("kaggle_cnn", (1, 28, 28), 10),
        ("cifar_cnn", (3, 32, 32), 10),
        ("vgg16_transfer", (3, 32, 32), 10),
        ("allconv", (1, 28, 28), 10),
        ("softmax_regression", (1, 128, 128), 6),
        ("mlp", (1, 128, 128), 6),
        ("fingers_cnn", (1, 128, 128), 6),
        ("resnet", (1, 96, 96), 6),
        ("resnet18_transfer", (1, 64, 64), 6),
    ],
)
def test_model_yaml_builds_its_net_from_the_datas_shapes(yaml, shape, classes):
    with initialize_config_dir(str(CONF_MODEL.parent), version_base="1.3"):
        cfg = compose("train", overrides=[f"model={yaml}"]).model
    assert cfg._target_ == "auglab.models.ImageClassifier"
    assert "num_classes" not in cfg.net and "input_shape" not in cfg.net
    if yaml in ("vgg16_transfer", "resnet18_transfer"):
        cfg.net.weights = None  # imagenet needs the network; its error has its own test
    net = instantiate(cfg.net, num_classes=classes, input_shape=shape)
    assert net.eval()(torch.rand(1, *shape)).shape == (1, classes)


def test_reset_head_builds_the_new_head_in_the_nets_dtype():
    net = AllConvNet(num_classes=10, input_shape=(1, 28, 28)).double()
    net.reset_head(4)
    assert isinstance(net.head, nn.Conv2d) and net.head.weight.dtype == torch.float64
    assert net(torch.rand(1, 1, 28, 28, dtype=torch.float64)).shape == (1, 4)
