"""Progress while a sweep runs: counts from the records the launched jobs leave, and the
time left from the wall time per ended job."""

from __future__ import annotations

import logging
import os
import time

import pytest

from auglab.progress import SweepProgress, Tally, tally
from auglab.report.wandb_target import Target
from tests.helpers import write_job


def test_the_line_counts_finished_failed_and_left_and_times_what_is_left():
    now = Tally(total=48, finished=12, failed=1, elapsed_s=13 * 65)
    assert now.line() == (
        "Progress: 12/48 finished, 1 failed, 35 left; about 38 min left "
        "(65 s a job over the 13 ended)"
    )
    assert now.seconds_left == pytest.approx(35 * 65)


def test_the_last_line_says_how_long_the_sweep_took_and_stopped_jobs_are_named():
    assert Tally(total=4, finished=3, failed=1, elapsed_s=125).line() == (
        "Progress: 3/4 finished, 1 failed, 0 left; all ended in 2 min"
    )
    stopped = Tally(total=5, finished=1, stopped=2, elapsed_s=30)
    assert stopped.line().startswith("Progress: 1/5 finished, 2 stopped, 2 left; ")


def test_before_any_job_ended_there_is_no_time_left_to_tell():
    assert Tally(total=3, elapsed_s=50).line() == "Progress: 0/3 finished, 3 left"
    assert Tally(total=3).seconds_left is None
    assert Tally(total=3).figures()["progress/seconds_left"] == -1.0


def test_tally_reads_the_records_written_since_the_launch_only(tmp_path):
    write_job(tmp_path, 0, ["data.size=100"], 0.9)  # finished in an earlier run of the sweep
    old = time.time() - 3600
    os.utime(tmp_path / "0" / "metrics.json", (old, old))
    since = time.time() - 1
    write_job(tmp_path, 1, ["data.size=200"], 0.9)
    write_job(tmp_path, 2, ["data.size=300"], None, status="failed", stage="fit")
    write_job(tmp_path, 3, ["data.size=400"], None, status="diverged")
    write_job(tmp_path, 4, ["data.size=500"], None, status="running")
    write_job(tmp_path, 5, ["data.size=600"], None, status="interrupted")
    now = tally(tmp_path, [0, 1, 2, 3, 4, 5, 6], since, since + 40)
    assert (now.finished, now.failed, now.stopped, now.left) == (1, 2, 1, 3)
    assert now.seconds_left == pytest.approx(3 * 40 / 4)


def test_the_watcher_says_a_line_each_time_more_jobs_ended(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="auglab.progress")
    with SweepProgress(tmp_path, [0, 1, 2], poll_s=0.05) as progress:
        time.sleep(0.1)
        assert progress.poll().ended == 0
        write_job(tmp_path, 0, ["data.size=100"], 0.9)
        deadline = time.monotonic() + 5
        while progress.last is None and time.monotonic() < deadline:
            time.sleep(0.02)
        write_job(tmp_path, 1, ["data.size=200"], None, status="failed")
        write_job(tmp_path, 2, ["data.size=300"], 0.8)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Progress")]
    assert lines[0].startswith("Progress: 1/3 finished, 2 left; about ")
    assert lines[-1].startswith("Progress: 2/3 finished, 1 failed, 0 left; all ended in ")
    assert len(lines) == len(set(lines)) == 2  # one line per change, none repeated


def test_progress_figures_go_to_a_wandb_run_of_the_sweep_offline(tmp_path, monkeypatch):
    for name in ("DIR", "CACHE_DIR", "CONFIG_DIR", "DATA_DIR"):
        monkeypatch.setenv(f"WANDB_{name}", str(tmp_path / name.lower()))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    to = Target(project="auglab", entity=None, group="g", offline=True)
    with SweepProgress(tmp_path, [0, 1], wandb_to=to, poll_s=60) as progress:
        write_job(tmp_path, 0, ["data.size=100"], 0.9)
        progress.poll()
        assert progress.run is not None
        write_job(tmp_path, 1, ["data.size=200"], 0.9)
    runs = list((tmp_path / "progress_run" / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(runs) == 1 and runs[0].stat().st_size > 0
    assert progress.run is None  # finished with the sweep
