"""A full disk (or a dir turned unwritable) mid-sweep is one line: the sweep stops with the
cause and the fix, no record claims a job nobody runs, nothing finished is touched, and
once there is room the same command trains what is left at once."""

from __future__ import annotations

import errno
import subprocess
import sys
import textwrap

import pytest

from auglab.process import disk_problem
from tests.helpers import QUICK, REPO, record, train

SWEEP = ["-m", "data.size=100", "seed=1,2", "trainer.max_epochs=1", "hydra/launcher=basic", *QUICK]

#: Every write of job 1's record (but the first, ``running``) and of its checkpoints fails
#: with ENOSPC, as on a disk that fills while job 1 trains.
FILL_DISK_IN_JOB_1 = """
import errno
from pathlib import Path
import auglab.atomic as atomic
import auglab.checkpoints as checkpoints

def full(path):
    return OSError(errno.ENOSPC, "No space left on device", str(path))

write_text = atomic.write_text
def write_or_fail(path, text):
    if Path(path).parent.name == "1" and Path(path).name == "metrics.json" and '"running"' not in text:
        raise full(path)
    return write_text(path, text)
atomic.write_text = write_or_fail

save_checkpoint = checkpoints.AtomicCheckpointIO.save_checkpoint
def save_or_fail(self, checkpoint, path, storage_options=None):
    if Path(path).parent.parent.name == "1":
        raise full(path)
    return save_checkpoint(self, checkpoint, path, storage_options)
checkpoints.AtomicCheckpointIO.save_checkpoint = save_or_fail
"""

#: The sweep's own record writes fail (the sweeper records a combination that does not
#: compose): the error the sweep ended on as a traceback.
FILL_DISK_FOR_THE_SWEEPER = """
import errno
from pathlib import Path
import auglab.atomic as atomic

write_text = atomic.write_text
def write_or_fail(path, text):
    if Path(path).name == "metrics.json":
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    return write_text(path, text)
atomic.write_text = write_or_fail
"""


def train_patched(patch: str, *overrides: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``train.py`` with ``patch`` run first in the sweep's process (basic launcher: the
    jobs run in it too)."""
    code = textwrap.dedent(patch) + textwrap.dedent(
        f"""
        import sys
        sys.argv = ["train.py", *{list(overrides)!r}]
        from auglab.train import cli
        cli()
        """
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


def assert_one_disk_line(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("auglab: error: cannot write the output dir: no space left on device")
    assert "Make room" in last and "rerun the same command" in last


@pytest.mark.slow
def test_a_disk_that_fills_mid_sweep_ends_it_in_one_line_and_room_resumes_it(run_env, tmp_path):
    sweep = tmp_path / "sweep"
    full = train_patched(FILL_DISK_IN_JOB_1, *SWEEP, f"hydra.sweep.dir={sweep}", env=run_env)
    assert_one_disk_line(full)
    assert record(sweep / "0")["status"] == "finished"
    assert not (sweep / "1" / "metrics.json").exists()  # no `running` for a job nobody runs
    assert not (sweep / "1" / ".lock").exists()
    finished = (sweep / "0" / "metrics.json").read_bytes()
    (sweep / "1" / ".lock").write_text("")  # a lock whose write failed: it holds nothing

    again = train(*SWEEP, f"hydra.sweep.dir={sweep}", env=run_env)
    assert "being trained by" not in again.stdout + again.stderr
    assert record(sweep / "1")["status"] == "finished"
    assert (sweep / "0" / "metrics.json").read_bytes() == finished  # never touched


def test_the_sweeps_own_record_write_on_a_full_disk_is_one_line(run_env, tmp_path):
    sweep = tmp_path / "sweep"
    bad = ["-m", "aug=off,no_such_preset", "data.size=100", "hydra/launcher=basic", *QUICK]
    proc = train_patched(FILL_DISK_FOR_THE_SWEEPER, *bad, f"hydra.sweep.dir={sweep}", env=run_env)
    assert_one_disk_line(proc)
    assert "metrics.json" in proc.stderr.strip().splitlines()[-1]  # names where


def test_a_full_or_unwritable_disk_is_told_from_other_errors():
    full = OSError(errno.ENOSPC, "No space left on device", "/s/1/last.ckpt")
    assert disk_problem(full) == "no space left on device (/s/1/last.ckpt)"
    try:
        try:
            raise full
        except OSError as err:
            raise RuntimeError("saving the checkpoint failed") from err
    except RuntimeError as wrapped:  # as Lightning or Hydra pass it on
        assert disk_problem(wrapped) == "no space left on device (/s/1/last.ckpt)"
    assert disk_problem(OSError(errno.EROFS, "Read-only file system")) == "read-only file system"
    assert disk_problem(PermissionError(errno.EACCES, "Permission denied", "/s")) == (
        "permission denied (/s)"
    )
    # torch's writer says it in its message only
    assert disk_problem(RuntimeError("[enforce fail] No space left on device")) is not None
    assert disk_problem(FileNotFoundError(errno.ENOENT, "No such file")) is None
    assert disk_problem(ValueError("data.size=0 must be positive")) is None


def test_the_sweeps_end_on_a_full_disk_is_one_line_naming_how_to_rebuild_the_report(
    tmp_path, monkeypatch
):
    from omegaconf import OmegaConf

    from auglab import end_of_sweep

    def no_room(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "summary.md"))

    monkeypatch.setattr(end_of_sweep, "make_report", no_room)
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    with pytest.raises(SystemExit) as ended:
        end_of_sweep.EndOfSweep().on_multirun_end(config)
    line = str(ended.value.code)
    assert line.startswith("auglab: error: cannot write the output dir: no space left on device")
    assert "summary.md" in line and "python -m auglab.report" in line
