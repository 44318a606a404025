"""Datamodules: one shared base, one small subclass per dataset."""

from auglab.data.base import ImageDataModule
from auglab.data.mnist import MNISTDataModule

__all__ = ["ImageDataModule", "MNISTDataModule"]
