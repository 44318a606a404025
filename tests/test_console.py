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


@pytest.fixture
def root_stream():
    """A root handler as Hydra's job logging installs one; Lightning's own put back after."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    lightning_logger = logging.getLogger("lightning")
    saved = list(lightning_logger.handlers)
    if not saved:  # as after a fresh `import lightning`
        lightning_logger.addHandler(logging.StreamHandler(io.StringIO()))
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)
    lightning_logger.handlers[:] = saved


def test_lightning_lines_print_once_through_the_root_handler(root_stream) -> None:
    lightning_logger = logging.getLogger("lightning")
    assert lightning_logger.handlers  # Lightning's own: the second copy of each line
    quiet_console()
    assert lightning_logger.handlers == []
    rank_zero_info("GPU available: False, used: False")
    assert root_stream.getvalue().count("GPU available") == 1


def test_lightning_keeps_its_handler_when_nothing_else_prints(root_stream) -> None:
    root = logging.getLogger()
    ours = root.handlers[-1]
    others = [h for h in root.handlers if h is not ours]
    root.handlers[:] = []
    try:
        quiet_console()
        assert logging.getLogger("lightning").handlers  # else its lines would vanish
    finally:
        root.handlers[:] = [*others, ours]


def test_the_cloud_logger_tip_is_not_shown(root_stream) -> None:
    quiet_console()
    quiet_console()  # idempotent
    rank_zero_info("💡 Tip: For seamless cloud logging ... litlogger ...")
    rank_zero_info("a real line")
    assert "Tip" not in root_stream.getvalue()
    assert "a real line" in root_stream.getvalue()


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
