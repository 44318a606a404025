"""Distribution shift: MNIST-C's corruptions for any test set, and MNIST-C's own files."""

from auglab.shift import mnist_c
from auglab.shift.registry import CORRUPTIONS, Corruption, corrupt, get, suite

__all__ = ["CORRUPTIONS", "Corruption", "corrupt", "get", "mnist_c", "suite"]
