"""The console: each Lightning line once, no tip, the srun hint only inside SLURM."""

from __future__ import annotations

import io
import logging
import warnings

import lightning  # noqa: F401  (adds its own handler to the "lightning" logger)
import pytest
from lightning.fabric.plugins.environments import SLURMEnvironment
from lightning.pytorch.utilities import rank_zero_info

from auglab.console import quiet_console

FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"  # Hydra's job logging


@pytest.fixture
def streams(tmp_path):
    """Hydra's job logging (a timestamped console handler and a file handler on the root)
    beside Lightning's own handler; everything put back after."""
    out, err = io.StringIO(), io.StringIO()
    console = logging.StreamHandler(out)
    console.setFormatter(logging.Formatter(FORMAT))
    log_file = logging.FileHandler(tmp_path / "train.log")
    log_file.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    lightning_logger = logging.getLogger("lightning")
    saved_handlers, saved_level = list(lightning_logger.handlers), root.level
    own = logging.StreamHandler(err)  # as `import lightning` adds one
    own.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    lightning_logger.handlers[:] = [own]
    root.addHandler(console)
    root.addHandler(log_file)
    root.setLevel(logging.INFO)
    yield out, err, tmp_path / "train.log"
    root.removeHandler(console)
    root.removeHandler(log_file)
    log_file.close()
    root.setLevel(saved_level)
    lightning_logger.handlers[:] = saved_handlers


def test_lightning_lines_print_once_timestamped_and_reach_the_log_file(streams) -> None:
    out, err, log_file = streams
    quiet_console()
    rank_zero_info("GPU available: False, used: False")
    logging.getLogger("auglab.train").info("job 0: starting")
    console = out.getvalue() + err.getvalue()
    assert console.count("GPU available") == 1
    assert "[lightning.pytorch.utilities.rank_zero][INFO] - GPU available" in err.getvalue()
    assert "job 0: starting" in out.getvalue()  # the root's console still prints the rest
    text = log_file.read_text()
    assert "GPU available" in text and "job 0: starting" in text


def test_without_hydras_console_lightning_keeps_its_own_lines(streams) -> None:
    out, err, _ = streams
    root = logging.getLogger()
    consoles = [h for h in root.handlers if type(h) is logging.StreamHandler]
    for handler in consoles:
        root.removeHandler(handler)
    try:
        quiet_console()
        rank_zero_info("GPU available: False, used: False")
        assert err.getvalue() == "INFO: GPU available: False, used: False\n"
    finally:
        for handler in consoles:
            root.addHandler(handler)


def test_the_cloud_logger_tip_is_not_shown(streams) -> None:
    out, err, _ = streams
    quiet_console()
    quiet_console()  # idempotent
    rank_zero_info("💡 Tip: For seamless cloud logging ... litlogger ...")
    rank_zero_info("a real line")
    console = out.getvalue() + err.getvalue()
    assert "Tip" not in console
    assert console.count("a real line") == 1


@pytest.mark.parametrize("in_slurm_job", [False, True])
def test_srun_hint_only_inside_a_slurm_job(monkeypatch, tmp_path, in_slurm_job) -> None:
    srun = tmp_path / "srun"
    srun.write_text("#!/bin/sh\n")
    srun.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{__import__('os').environ['PATH']}")
    for key in ("SLURM_JOB_ID", "SLURM_NTASKS", "SLURM_JOB_NAME", "SLURM_STEP_ID"):
        monkeypatch.delenv(key, raising=False)
    if in_slurm_job:
        monkeypatch.setenv("SLURM_JOB_ID", "42")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_console()
        SLURMEnvironment.detect()
    hints = [w for w in caught if "srun" in str(w.message)]
    assert bool(hints) == in_slurm_job
