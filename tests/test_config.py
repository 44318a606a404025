"""Every option of every config group composes, resolves and builds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from auglab.aug import build_augmentation
from tests.helpers import REPO

CONF = REPO / "conf"
GROUPS = [
    "data",
    "model",
    "aug",
    "optim",
    "scheduler",
    "callbacks",
    "logger",
    "trainer",
    "experiment",
    "debug",
]
#: Values an option cannot run without (it refuses to resolve until they are given).
REQUIRED = {"experiment=fingers_hand_transfer": ["model.init_from=some/last.ckpt"]}
OPTIONS = [(g, p.stem) for g in GROUPS for p in sorted((CONF / g).glob("*.yaml"))]


def composed(tmp_path: Path, *overrides: str):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose("train", overrides=[f"paths.output_dir={tmp_path}", *overrides])


def test_every_group_named_by_the_issue_is_in_the_defaults():
    defaults = OmegaConf.load(CONF / "train.yaml").defaults
    names = {next(iter(d)) if isinstance(d, dict) or OmegaConf.is_dict(d) else d for d in defaults}
    assert set(GROUPS) | {"paths", "hydra", "_self_"} <= names


def test_defaults_are_e1s_recipe(tmp_path):
    cfg = composed(tmp_path)
    assert cfg.data._target_.endswith("MNISTDataModule")
    assert cfg.model.net._target_.endswith("LeNet5")
    assert cfg.aug.name == "off" and list(cfg.aug.transforms) == []
    assert cfg.optim._target_ == "torch.optim.Adam" and cfg.optim.lr == 1e-3
    assert cfg.data.batch_size == 64 and cfg.trainer.max_epochs == 30
    assert list(cfg.logger) == ["wandb"] and cfg.logger.wandb.offline is True


def test_no_model_config_hard_codes_the_class_count():
    for path in (CONF / "model").glob("*.yaml"):
        assert "num_classes" not in OmegaConf.to_yaml(OmegaConf.load(path)), path


@pytest.mark.slow
@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_option_composes_and_resolves(tmp_path, group, option):
    extra = REQUIRED.get(f"{group}={option}", [])
    cfg = composed(tmp_path, f"{group}={option}", *extra)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert resolved["seed"] == 42
    assert Path(resolved["paths"]["data_dir"]).is_absolute()
    if group in ("data", "model", "optim", "scheduler", "experiment"):
        instantiate(cfg.data, augment=build_augmentation(cfg.aug))
        optimizer = instantiate(cfg.optim)
        assert callable(optimizer)
    if group == "aug":
        build_augmentation(cfg.aug)
    if group in ("callbacks", "logger"):
        for spec in (cfg.get(group) or {}).values():
            instantiate(spec)


def test_aug_off_from_the_command_line_is_the_preset_not_a_boolean(tmp_path):
    assert composed(tmp_path, "aug=off").aug.name == "off"
    assert composed(tmp_path, "aug=on").aug.name == "on"


def test_data_dir_comes_from_the_environment_and_is_repo_relative(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGLAB_DATA_DIR", "some/where")
    cfg = composed(tmp_path)
    assert cfg.paths.data_dir == str(REPO / "some" / "where")
    monkeypatch.delenv("AUGLAB_DATA_DIR")
    assert composed(tmp_path).paths.data_dir == str(REPO / "data")


@pytest.mark.slow
@pytest.mark.parametrize(
    "entry", [["train.py"], ["-m", "auglab.train"]], ids=["train.py", "python -m"]
)
def test_cfg_job_prints_the_composed_config(entry):
    out = subprocess.run(
        [sys.executable, *entry, "--cfg", "job"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    printed = OmegaConf.create(out.stdout)
    assert printed.model.net._target_ == "auglab.models.nets.LeNet5"


def test_e4_distortions_command_keeps_rmsprops_own_learning_rate(tmp_path):
    # The SGD run's rates come from the step table; they must not leak into RMSprop.
    cfg = composed(
        tmp_path,
        "experiment=mnist_lenet5_classic",
        "aug=e4",
        "optim=rmsprop",
        "scheduler=none",
    )
    assert cfg.optim._target_ == "torch.optim.RMSprop" and cfg.optim.lr == 1e-3
    assert cfg.scheduler is None
