"""A sweep dir one can trust, through the real entry point: a plan per sweep, one config
per job dir, one writer per job, unique dirs, and Ctrl-C that stops and resumes."""

from __future__ import annotations

import csv
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auglab.lock import JobLock
from tests.helpers import QUICK, REPO, popen, record, results, train, wait_for


def summary_jobs(sweep: Path) -> list[tuple[str, str]]:
    with (sweep / "summary.csv").open() as f:
        return [(row["job"], row["status"]) for row in csv.DictReader(f)]


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_extending_a_finished_sweep_trains_exactly_the_new_combinations(run_env, tmp_path):
    sweep = tmp_path / "sweep"
    # One process per sweep (the plan does not depend on the launcher): quicker to start.
    base = ["-m", "hydra/launcher=basic", "data.size=100,200", "trainer.max_epochs=1", *QUICK]
    base.append(f"hydra.sweep.dir={sweep}")
    train(*base, env=run_env)
    finished = {n: (sweep / n / "metrics.json").read_bytes() for n in "01"}

    # seed=42 is the default: those two jobs are the finished ones, whatever the job order.
    proc = train(*base, "seed=42,7", env=run_env)
    assert "Sweep of 4 jobs: 2 to run (jobs 2-3), 2 already finished" in proc.stdout
    assert {n: (sweep / n / "metrics.json").read_bytes() for n in "01"} == finished
    assert [(record(sweep / n)["seed"], record(sweep / n)["attempts"]) for n in "23"] == [
        (7, 1),
        (7, 1),
    ]
    # Hydra's order: size 100 (seed 42, 7), then size 200 (seed 42, 7).
    assert summary_jobs(sweep) == [(n, "finished") for n in ("0", "2", "1", "3")]


@pytest.mark.slow
def test_a_run_dir_made_by_another_config_is_refused_in_one_line(run_env, tmp_path):
    out = tmp_path / "run"
    args = ["data.size=100", "trainer.max_epochs=1", *QUICK, f"hydra.run.dir={out}"]
    train(*args, env=run_env)
    # As an interrupted run leaves it: a rerun would resume from its checkpoint.
    saved = record(out)
    (out / "metrics.json").write_text(json.dumps(dict(saved, status="running")))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    proc = train(*args, "optim.lr=0.01", env=run_env, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"auglab: error: {out} holds a run of another config (optim.lr: 0.001 -> 0.01): leave "
        f"hydra.run.dir unset for a new dir, or delete {out} to train this config there"
    ]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.slow
def test_two_identical_sweeps_started_at_once_train_every_job_exactly_once(run_env, tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "data.size=100,200,300,400", "trainer.max_epochs=1", *QUICK]
    procs = [popen(*args, f"hydra.sweep.dir={sweep}", env=run_env) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    for n in "0123":
        job = record(sweep / n)
        assert (job["status"], job["attempts"], job["resumed_from"]) == ("finished", 1, None)
    log = "".join(out + err for out, err in outs)
    assert "being trained by" in log and "failed" not in log
    assert sorted(summary_jobs(sweep)) == [(n, "finished") for n in "0123"]


@pytest.mark.slow
def test_a_job_held_by_a_live_process_is_left_to_it_and_marked_running_elsewhere(run_env, tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "data.size=100", "trainer.max_epochs=1", *QUICK, f"hydra.sweep.dir={sweep}"]
    train(*args, env=run_env)
    # The job as a second copy of the sweep would find it: started, its lock fresh.
    saved = dict(record(sweep / "0"), status="running", stage="fit")
    (sweep / "0" / "metrics.json").write_text(json.dumps(saved))
    before = (sweep / "0" / "metrics.json").read_bytes()
    held = JobLock(sweep / "0" / ".lock", "test")
    assert held.acquire() is None
    try:
        proc = train(*args, env=run_env)
    finally:
        held.release()
    assert "job 0: being trained by" in proc.stdout
    assert summary_jobs(sweep) == [("0", "running elsewhere")]
    assert (sweep / "0" / "metrics.json").read_bytes() == before
    assert "1 jobs are being trained by another process" in proc.stderr + proc.stdout


@pytest.mark.slow
def test_two_runs_started_in_the_same_second_get_two_dirs(run_env, tmp_path):
    args = ["data.size=100", "trainer.max_epochs=1", *QUICK, f"paths.log_dir={tmp_path}"]
    procs = [popen(*args, env=run_env) for _ in range(2)]
    assert [p.wait(timeout=600) for p in procs] == [0, 0]
    dirs = sorted((tmp_path / "runs").iterdir())
    assert len(dirs) == 2 and all((d / "metrics.json").is_file() for d in dirs)


@pytest.fixture(scope="module")
def whole_sweep(mnist_root, tmp_path_factory) -> Path:
    """The sweep the interrupted ones must end as, run once without interruption."""
    root = tmp_path_factory.mktemp("whole")
    env = dict(os.environ, AUGLAB_DATA_DIR=str(mnist_root), WANDB_MODE="offline")
    train(*STOPPED, f"hydra.sweep.dir={root}", env=dict(env, PYTHONWARNINGS="ignore"))
    return root


STOPPED = ["-m", "data.size=1000,2000", "aug=on", "trainer.max_epochs=3", *QUICK]


def started(sweep: Path, env: dict[str, str], args: list[str] = STOPPED) -> subprocess.Popen:
    """The sweep running, once job 1 has its first epoch's checkpoint (mid-way or near)."""
    proc = popen(*args, f"hydra.sweep.dir={sweep}", env=env)
    last = sweep / "1" / "checkpoints" / "last.ckpt"
    wait_for(lambda: last.exists() or proc.poll() is not None)
    return proc


@pytest.mark.slow
@pytest.mark.xdist_group("whole_sweep")
def test_a_sweep_killed_mid_job_resumes_to_the_records_of_an_uninterrupted_one(
    run_env, tmp_path, whole_sweep
):
    # The default launcher runs both jobs at once: kill the sweep, workers and all.
    killed = tmp_path / "killed"
    proc = started(killed, run_env)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert record(killed / "1")["status"] == "running"

    again = train(*STOPPED, f"hydra.sweep.dir={killed}", env=run_env)
    assert "job 1: resuming from epoch" in again.stdout
    for job in ("0", "1"):
        assert results(killed / job) == results(whole_sweep / job)
    assert record(killed / "1")["attempts"] == 2


@pytest.mark.slow
@pytest.mark.xdist_group("whole_sweep")
def test_ctrl_c_stops_a_sweep_within_seconds_and_its_rerun_continues_to_the_same_records(
    run_env, tmp_path, whole_sweep
):
    sweep = tmp_path / "sweep"
    proc = started(sweep, run_env)
    os.killpg(proc.pid, signal.SIGINT)  # the terminal sends it to the whole process group
    stopped_at = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert time.monotonic() - stopped_at < 20
    assert proc.returncode == 130, err[-3000:]
    same = [Path(sys.executable).name, str(REPO / "train.py"), *STOPPED, f"hydra.sweep.dir={sweep}"]
    assert err.strip().splitlines()[-1] == (
        "auglab: interrupted; every job stopped at its last checkpoint. To continue, rerun "
        f"the same command: {shlex.join(same)}"
    )
    assert "Traceback" not in err
    assert record(sweep / "1")["status"] == "interrupted"
    wait_for(lambda: not _alive(proc.pid), timeout=15)  # no worker left training

    again = train(*STOPPED, f"hydra.sweep.dir={sweep}", env=run_env)
    assert "job 1: resuming from epoch" in again.stdout
    for job in ("0", "1"):
        assert results(sweep / job) == results(whole_sweep / job)


@pytest.mark.slow
def test_sigterm_to_the_sweep_process_alone_stops_every_job(run_env, tmp_path):
    """What `kill PID` or a scheduler does: the workers never see the signal themselves;
    they stop on the sweep's stop file."""
    sweep = tmp_path / "sweep"
    proc = started(sweep, run_env, ["-m", "data.size=1000,2000", "trainer.max_epochs=20", *QUICK])
    os.kill(proc.pid, signal.SIGTERM)
    stopped_at = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert time.monotonic() - stopped_at < 20
    assert proc.returncode == 143
    assert "auglab: SIGTERM: stopping every job at its next batch" in err
    assert [record(sweep / n)["status"] for n in "01"] == ["interrupted", "interrupted"]
    assert record(sweep / "1")["error"].startswith("stopped (the sweep was stopped); a rerun")
    wait_for(lambda: not _alive(proc.pid), timeout=15)
