"""Datamodules: one shared base, one small subclass per dataset."""

from auglab.data.base import ImageDataModule
from auglab.data.cifar10 import CIFAR10DataModule
from auglab.data.digits_csv import DigitsCSVDataModule
from auglab.data.fingers import FingersDataModule
from auglab.data.image_folder import ImageFolderDataModule
from auglab.data.mnist import MNISTDataModule

__all__ = [
    "CIFAR10DataModule",
    "DigitsCSVDataModule",
    "FingersDataModule",
    "ImageDataModule",
    "ImageFolderDataModule",
    "MNISTDataModule",
]
