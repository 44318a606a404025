"""conf/callbacks: early stopping composes on top of the defaults; pictures can be turned off."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

from auglab.callbacks import RunPictures
from tests.helpers import REPO


def callbacks(tmp_path: Path, *overrides: str) -> dict:
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[f"paths.output_dir={tmp_path}", *overrides])
    return {name: instantiate(spec) for name, spec in (cfg.callbacks or {}).items()}


def test_pictures_are_on_by_default_in_the_job_dir(tmp_path):
    pictures = callbacks(tmp_path)["pictures"]
    assert isinstance(pictures, RunPictures) and pictures.enabled
    assert pictures.dirpath == tmp_path / "pictures"


def test_early_stopping_keeps_checkpoints_and_pictures(tmp_path):
    found = callbacks(tmp_path, "callbacks=early_stopping")
    assert list(found) == [
        "model_checkpoint",
        "last_checkpoint",
        "progress_bar",
        "pictures",
        "learning_rate",
        "early_stopping",
    ]
    stop = found["early_stopping"]
    assert isinstance(stop, EarlyStopping)
    assert (stop.monitor, stop.mode, stop.patience) == ("val/loss", "min", 10)
    assert isinstance(found["model_checkpoint"], ModelCheckpoint)
    assert (found["model_checkpoint"].monitor, found["last_checkpoint"].monitor) == (
        "val/acc",
        None,
    )


@pytest.mark.slow
def test_pictures_turn_off_with_enabled_false_or_by_deleting_the_entry(tmp_path):
    assert not callbacks(tmp_path, "callbacks.pictures.enabled=false")["pictures"].enabled
    assert "pictures" not in callbacks(tmp_path, "~callbacks.pictures")
