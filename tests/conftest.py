"""Session fixtures: generated MNIST in the real IDX .gz layout; offline W&B env."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import N_TEST, N_TRAIN, make_digits, write_idx_images, write_idx_labels


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory) -> Path:
    """A data dir holding MNIST/raw/*.gz exactly as torchvision lays it out."""
    root = tmp_path_factory.mktemp("data")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    train_x, train_y = make_digits(N_TRAIN, seed=0)
    test_x, test_y = make_digits(N_TEST, seed=1)
    write_idx_images(raw / "train-images-idx3-ubyte.gz", train_x)
    write_idx_labels(raw / "train-labels-idx1-ubyte.gz", train_y)
    write_idx_images(raw / "t10k-images-idx3-ubyte.gz", test_x)
    write_idx_labels(raw / "t10k-labels-idx1-ubyte.gz", test_y)
    return root


@pytest.fixture
def run_env(mnist_root, tmp_path) -> dict[str, str]:
    """Environment for `python train.py` in a subprocess: generated data, offline W&B."""
    env = dict(os.environ)
    env.update(
        AUGLAB_DATA_DIR=str(mnist_root),
        WANDB_MODE="offline",
        WANDB_SILENT="true",
        WANDB_DIR=str(tmp_path / "wandb_home"),
        WANDB_CACHE_DIR=str(tmp_path / "wandb_cache"),
        WANDB_CONFIG_DIR=str(tmp_path / "wandb_config"),
        WANDB_DATA_DIR=str(tmp_path / "wandb_data"),
        HYDRA_FULL_ERROR="0",
        PYTHONWARNINGS="ignore",
    )
    return env
