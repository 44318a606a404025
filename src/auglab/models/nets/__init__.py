"""Networks: one file per family, each with a replaceable ``head`` (see ``HeadNet``).

Every net takes ``num_classes`` and ``input_shape`` (C, H, W) from the datamodule
and returns logits.
"""

from auglab.models.nets.allconv import AllConvNet
from auglab.models.nets.cifar_cnn import CifarCNN
from auglab.models.nets.fingers_cnn import FingersCNN
from auglab.models.nets.head import HeadNet
from auglab.models.nets.kaggle_cnn import KaggleCNN
from auglab.models.nets.lenet5 import LeNet5, LeNet5Classic
from auglab.models.nets.mlp import MLP
from auglab.models.nets.resnet import ResNet
from auglab.models.nets.resnet18 import ResNet18Transfer
from auglab.models.nets.vgg import VGG16Transfer

__all__ = [
    "MLP",
    "AllConvNet",
    "CifarCNN",
    "FingersCNN",
    "HeadNet",
    "KaggleCNN",
    "LeNet5",
    "LeNet5Classic",
    "ResNet",
    "ResNet18Transfer",
    "VGG16Transfer",
]
