"""Networks: one file per family, each with a replaceable ``head`` (see ``reset_head``)."""

from auglab.models.nets.lenet5 import LeNet5

__all__ = ["LeNet5"]
