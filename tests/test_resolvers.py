"""Resolvers behind W&B run names/groups and repository-relative paths."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import open_dict

from auglab.resolvers import resolve_path, run_name, sweep_group, wandb_offline
from tests.helpers import REPO


@pytest.fixture
def hydra_job(tmp_path):
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", return_hydra_config=True)
    yield cfg
    HydraConfig.instance().cfg = None


def test_multirun_job_is_named_by_overrides_and_grouped_by_sweep(hydra_job, tmp_path):
    with open_dict(hydra_job):
        hydra_job.hydra.mode = RunMode.MULTIRUN
        hydra_job.hydra.sweep.dir = str(tmp_path / "grid_2026")
        hydra_job.hydra.job.override_dirname = "aug=on,data.size=100"
    HydraConfig.instance().set_config(hydra_job)
    assert run_name() == "aug=on,data.size=100"
    assert sweep_group() == "grid_2026"


def test_single_run_has_no_group_and_a_default_name(hydra_job):
    with open_dict(hydra_job):
        hydra_job.hydra.mode = RunMode.RUN
        hydra_job.hydra.job.override_dirname = ""
    HydraConfig.instance().set_config(hydra_job)
    assert run_name() == "default"
    assert sweep_group() is None


@pytest.mark.parametrize(("mode", "offline"), [(None, True), ("offline", True), ("online", False)])
def test_wandb_is_offline_unless_asked_online(monkeypatch, mode, offline):
    if mode is None:
        monkeypatch.delenv("WANDB_MODE", raising=False)
    else:
        monkeypatch.setenv("WANDB_MODE", mode)
    assert wandb_offline() is offline


def test_relative_paths_are_taken_from_the_repository(tmp_path):
    assert resolve_path("data") == str(REPO / "data")
    assert resolve_path(str(tmp_path)) == str(tmp_path)


def test_required_value_names_the_key_and_an_example():
    from omegaconf import OmegaConf

    from auglab.errors import one_line

    cfg = OmegaConf.create({"init_from": "${auglab.required:model.init_from,run/last.ckpt}"})
    with pytest.raises(Exception) as caught:
        _ = cfg.init_from
    assert one_line(caught.value) == (
        "model.init_from is required by this experiment: add model.init_from=run/last.ckpt"
    )
