"""data.samples_per_epoch: equal optimiser steps for every data.size."""

from __future__ import annotations

import numpy as np
import pytest

from auglab.errors import ConfigError
from tests.data.toy import ToyData


def drawn(dm: ToyData) -> np.ndarray:
    return np.concatenate(
        [x[:, 0, 0, 0].mul(255).round().numpy() for x, _ in dm.train_dataloader()]
    )


@pytest.mark.parametrize("size", [10, 100, 250])
def test_every_size_draws_the_same_number_of_batches(tmp_path, size):
    dm = ToyData(tmp_path, size=size, batch_size=32, samples_per_epoch=256)
    dm.setup("fit")
    assert len(dm.train_dataloader()) == 8
    assert len(drawn(dm)) == 256


def test_small_subset_is_drawn_with_replacement(tmp_path):
    dm = ToyData(tmp_path, size=10, batch_size=32, samples_per_epoch=256)
    dm.setup("fit")
    values = drawn(dm)
    assert set(values.astype(int)) <= set(range(10))
    assert len(set(values.astype(int))) == 10  # 256 draws from 10 reach all of them


def test_large_subset_draws_distinct_images(tmp_path):
    dm = ToyData(tmp_path, size=250, batch_size=50, samples_per_epoch=200)
    dm.setup("fit")
    assert len(set(drawn(dm).astype(int))) == 200  # without replacement


def test_without_the_knob_an_epoch_is_one_pass(tmp_path):
    dm = ToyData(tmp_path, size=100, batch_size=32)
    dm.setup("fit")
    assert sorted(drawn(dm).astype(int)) == list(range(100))


def test_refuses_zero(tmp_path):
    with pytest.raises(ConfigError, match="data.samples_per_epoch"):
        ToyData(tmp_path, samples_per_epoch=0)
