"""Learning-rate schedules the reference recipes use and torch does not ship."""

from __future__ import annotations

from collections.abc import Sequence

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from auglab.errors import ConfigError


class EpochTable(LRScheduler):
    """Absolute learning rates from a table of ``(epochs, lr)`` stages, stepped per epoch.

    E4 trains LeNet-5 with lr 1.0 for 2 epochs, 0.8 for 3, 0.4 for 3, 0.2 for 4 and
    0.08 for 8: ``table=[[2, 1.0], [3, 0.8], [3, 0.4], [4, 0.2], [8, 0.08]]``. After the
    last stage the last rate is kept. The optimiser's own ``lr`` is ignored.
    """

    def __init__(
        self, optimizer: Optimizer, table: Sequence[Sequence[float]], last_epoch: int = -1
    ) -> None:
        self.table = check_table(table)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        end = 0
        for epochs, lr in self.table:
            end += epochs
            if epoch < end:
                return lr
        return self.table[-1][1]

    def get_lr(self) -> list[float]:
        return [self.lr_at(self.last_epoch)] * len(self.optimizer.param_groups)


def check_table(table: Sequence[Sequence[float]]) -> list[tuple[int, float]]:
    stages = []
    for i, stage in enumerate(table or []):
        if len(stage) != 2 or int(stage[0]) != stage[0] or stage[0] < 1 or stage[1] < 0:
            raise ConfigError(
                f"scheduler.table[{i}]={list(stage)} must be [epochs >= 1, lr >= 0], "
                "e.g. scheduler.table=[[2,1.0],[3,0.8]]"
            )
        stages.append((int(stage[0]), float(stage[1])))
    if not stages:
        raise ConfigError(
            "scheduler.table is empty: give [epochs, lr] stages, e.g. [[2,1.0],[3,0.8]]"
        )
    return stages
