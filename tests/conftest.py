"""Session fixtures: generated MNIST in the real IDX .gz layout; offline W&B env.

Options: ``--slurm`` (or ``AUGLAB_SLURM=1``) runs tests/slurm on a real local cluster,
which ``scripts/slurm_cluster.sh`` installs and starts (root, apt); a plain ``pytest``
never installs a package or starts a daemon. ``-m "not slow"`` is the fast tier.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import write_mnist


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slurm",
        action="store_true",
        help="run tests/slurm on a local SLURM cluster (started by scripts/slurm_cluster.sh "
        "if none is up: installs SLURM and MariaDB with apt); also AUGLAB_SLURM=1",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--slurm"):  # read as the SLURM test module is collected
        os.environ["AUGLAB_SLURM"] = "1"


def slurm_asked() -> bool:
    """Whether this run asked for the SLURM tests (``--slurm`` or ``AUGLAB_SLURM=1``)."""
    return os.environ.get("AUGLAB_SLURM") == "1"


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory) -> Path:
    """A data dir holding MNIST/raw/*.gz exactly as torchvision lays it out."""
    return write_mnist(tmp_path_factory.mktemp("data"))


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
