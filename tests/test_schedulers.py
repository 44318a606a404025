"""scheduler=steps: E4's epoch -> learning-rate table."""

from __future__ import annotations

import pytest
import torch

from auglab.errors import ConfigError
from auglab.schedulers import EpochTable

E4 = [[2, 1.0], [3, 0.8], [3, 0.4], [4, 0.2], [8, 0.08]]


def lrs(table, epochs: int) -> list[float]:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=123.0)
    scheduler = EpochTable(optimizer, table)
    seen = []
    for _ in range(epochs):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return seen


def test_e4_table_gives_each_rate_for_its_epochs():
    expected = [1.0] * 2 + [0.8] * 3 + [0.4] * 3 + [0.2] * 4 + [0.08] * 8
    assert lrs(E4, 20) == pytest.approx(expected)


def test_last_rate_is_kept_after_the_table():
    assert lrs([[1, 0.5], [1, 0.1]], 4) == pytest.approx([0.5, 0.1, 0.1, 0.1])


@pytest.mark.parametrize("bad", [[], [[0, 1.0]], [[2, -1.0]], [[1.5, 0.1]], [[2]]])
def test_bad_table_is_refused_with_an_example(bad):
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ConfigError, match=r"scheduler\.table"):
        EpochTable(optimizer, bad)
