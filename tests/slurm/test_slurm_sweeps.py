"""Cluster sweeps on a real SLURM (scripts/slurm_cluster.sh): submitted through
hydra/launcher=submitit_slurm, preempted, requeued, cancelled, timed out, submitted twice,
left by a killed submitter, capped by array_parallelism, and DDP across two tasks.

All in one xdist group: they share the cluster's two cores, one test at a time.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import slurm_asked
from tests.helpers import QUICK, popen, record, results, train, wait_for
from tests.slurm.conftest import NOT_ASKED

if not slurm_asked():  # one line for the whole module; no cluster is touched
    pytest.skip(NOT_ASKED, allow_module_level=True)

pytestmark = pytest.mark.xdist_group("slurm")

#: One core and no GPU per job, on the local cluster's default partition. A time limit
#: over 10 minutes: below it submitit takes every USR2 for a timeout, not a preemption.
SLURM = [
    "hydra/launcher=submitit_slurm",
    "hydra.launcher.gpus_per_node=0",
    "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.mem_gb=null",
    "hydra.launcher.timeout_min=20",
]
#: A job long enough to be stopped after its first epoch's checkpoint.
LONG = ["data.size=2000", "aug=on", "trainer.max_epochs=4", *QUICK]
#: Record fields that name the job rather than say what it computed.
NAMING = {"overrides", "job_num"}


def slurm(*cmd: str, env: dict[str, str]) -> str:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout


def array_tasks(sweep: Path) -> list[str]:
    """The SLURM ids of a sweep's jobs in job order: submitit's folders, ``<array>_<i>``, or
    the plain job id for a sweep of one job."""
    names = [p.name for p in (sweep / ".submitit").iterdir() if re.fullmatch(r"\d+(_\d+)?", p.name)]
    arrays = {name.split("_")[0] for name in names if "_" in name}
    tasks = [name for name in names if name not in arrays]  # an array's own folder is no job
    return sorted(tasks, key=lambda t: tuple(int(n) for n in t.split("_")))


def started(sweep: Path, env: dict[str, str], *jobs: str, args=LONG) -> subprocess.Popen:
    """A sweep submitted to SLURM, once each of ``jobs`` has its first epoch's checkpoint."""
    proc = popen("-m", *SLURM, *args, f"hydra.sweep.dir={sweep}", env=env)
    for job in jobs:
        last = sweep / job / "checkpoints" / "last.ckpt"
        wait_for(lambda last=last: last.exists() or proc.poll() is not None, timeout=240)
    assert proc.poll() is None, proc.communicate()
    return proc


def finished(proc: subprocess.Popen, timeout: float = 300) -> tuple[str, str]:
    out, err = proc.communicate(timeout=timeout)
    return out, err


def computed(job_dir: Path) -> dict:
    return {k: v for k, v in results(job_dir).items() if k not in NAMING}


def span(job_dir: Path) -> tuple[datetime, datetime]:
    """When a job trained: its train.log's first and last timestamps."""
    stamps = [
        datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f")
        for line in (job_dir / "train.log").read_text().splitlines()
        if line.startswith("[20")
    ]
    return stamps[0], stamps[-1]


@pytest.fixture(scope="module")
def uninterrupted(mnist_root, tmp_path_factory) -> Path:
    """LONG trained on this machine in one go, on one thread as the SLURM jobs are."""
    run = tmp_path_factory.mktemp("uninterrupted") / "run"
    env = dict(os.environ, AUGLAB_DATA_DIR=str(mnist_root), WANDB_MODE="offline")
    train(*LONG, "threads=1", f"hydra.run.dir={run}", env=dict(env, PYTHONWARNINGS="ignore"))
    return run


def test_a_2x2_sweep_finishes_on_slurm_one_job_at_a_time_under_array_parallelism(
    slurm_env, tmp_path
):
    sweep = tmp_path / "sweep"
    proc = train(
        "-m", *SLURM, "hydra.launcher.array_parallelism=1", "data.size=100,200", "aug=on,off",
        "trainer.max_epochs=1", *QUICK, f"hydra.sweep.dir={sweep}", env=slurm_env,
    )  # fmt: skip
    jobs = [sweep / str(n) for n in range(4)]
    assert [record(j)["status"] for j in jobs] == ["finished"] * 4
    assert (sweep / "summary.csv").is_file() and (sweep / "report.md").is_file()
    # torch's threads follow --cpus-per-task, not the node's two cores
    assert [record(j)["threads"] for j in jobs] == [1] * 4
    # submitit alone owns requeueing: Lightning's SLURM handler stays off
    logs = "".join((j / "train.log").read_text() for j in jobs)
    assert "auto-requeueing enabled" not in logs + proc.stderr
    # the submitter prints progress from the records while it waits: jobs end one at a time
    said = proc.stdout + proc.stderr
    assert "Progress: 1/4 finished, 3 left; about " in said
    assert "Progress: 4/4 finished, 0 left; all ended in " in said
    # the node has room for two such jobs: the cap kept them one at a time
    spans = sorted(span(j) for j in jobs)
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:], strict=False))
    # submitit's logs live in the sweep dir, one folder per job, linked from the job's dir
    assert len(array_tasks(sweep)) == 4
    for job in jobs:
        out = (job / "slurm.out").resolve()
        assert out.parent.parent == sweep / ".submitit" and (job / "slurm.err").resolve().is_file()
        assert f"job {job.name}: finished" in out.read_text()


def test_a_preempted_job_is_requeued_by_submitit_and_ends_as_an_uninterrupted_one(
    slurm_env, tmp_path, uninterrupted
):
    sweep = tmp_path / "sweep"
    proc = started(sweep, slurm_env, "0")
    (task,) = array_tasks(sweep)
    slurm("scancel", "--signal=USR2", task, env=slurm_env)  # what a preemption sends first
    finished(proc)
    job = record(sweep / "0")
    assert job["status"] == "finished"
    assert job["attempts"] == 2 and job["resumed_from"].startswith("epoch ")
    assert computed(sweep / "0") == computed(uninterrupted)
    err = (sweep / ".submitit" / task / f"{task}_0_log.err").read_text()
    assert "this job is preempted" in err


def test_a_plain_scontrol_requeue_continues_from_the_jobs_last_checkpoint(
    slurm_env, tmp_path, uninterrupted
):
    sweep = tmp_path / "sweep"
    proc = started(sweep, slurm_env, "0")
    (task,) = array_tasks(sweep)
    slurm("scontrol", "requeue", task, env=slurm_env)  # no USR2: submitit is not asked
    finished(proc)
    job = record(sweep / "0")
    assert (job["status"], job["attempts"]) == ("finished", 2)
    assert job["resumed_from"].startswith("epoch ")
    assert computed(sweep / "0") == computed(uninterrupted)


def test_a_cancelled_job_is_a_failed_record_with_slurms_reason_and_a_rerun_resumes_only_it(
    slurm_env, tmp_path
):
    sweep = tmp_path / "sweep"
    args = ["data.size=2000,100", "aug=on", "trainer.max_epochs=4", *QUICK]
    proc = started(sweep, slurm_env, "0", args=args)
    slurm("scancel", array_tasks(sweep)[0], env=slurm_env)
    _, err = finished(proc)
    assert proc.returncode == 1
    cancelled, other = record(sweep / "0"), record(sweep / "1")
    assert (cancelled["status"], cancelled["stage"]) == ("failed", "fit")
    assert cancelled["error"].startswith("SLURM ended it (CANCELLED")
    assert "a rerun resumes from epoch" in cancelled["error"]
    assert other["status"] == "finished"
    assert "failed at fit: SLURM ended it (CANCELLED" in err

    again = train("-m", *SLURM, *args, f"hydra.sweep.dir={sweep}", env=slurm_env)
    assert "1 to run (jobs 0)" in again.stdout + again.stderr
    assert record(sweep / "0")["status"] == "finished"
    assert record(sweep / "0")["resumed_from"].startswith("epoch ")
    assert record(sweep / "1") == other  # untouched


def test_a_job_past_its_time_limit_is_a_failed_record_saying_so(slurm_env, tmp_path):
    sweep = tmp_path / "sweep"
    proc = train(
        "-m", *SLURM, "hydra.launcher.timeout_min=1", "hydra.launcher.signal_delay_s=20",
        "hydra.launcher.max_num_timeout=0", "data.size=2000", "trainer.max_epochs=200",
        *QUICK, f"hydra.sweep.dir={sweep}", env=slurm_env, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    job = record(sweep / "0")
    assert job["status"] == "failed"
    assert "Job not requeued because: timed-out too many times" in job["error"]


def test_the_same_sweep_submitted_twice_trains_each_job_once(slurm_env, tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", *SLURM, "data.size=100,200", "trainer.max_epochs=2", *QUICK]
    first, second = (popen(*args, f"hydra.sweep.dir={sweep}", env=slurm_env) for _ in range(2))
    for proc in (first, second):
        finished(proc)
    assert first.returncode == 0 and second.returncode == 0
    for job in ("0", "1"):
        assert record(sweep / job)["status"] == "finished"
        assert record(sweep / job)["attempts"] == 1
        assert (sweep / job / "train.log").read_text().count(f"job {job}: starting") == 1
    assert len(array_tasks(sweep)) == 4  # both submissions reached the cluster


def test_jobs_outlive_a_killed_submitter_and_a_rerun_collects_them_untrained(slurm_env, tmp_path):
    sweep = tmp_path / "sweep"
    args = ["data.size=1000,1001", "aug=on", "trainer.max_epochs=2", *QUICK]
    proc = started(sweep, slurm_env, "0", args=args)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    tasks = array_tasks(sweep)
    wait_for(lambda: not slurm("squeue", "-h", "-j", ",".join(tasks), env=slurm_env), 240)
    assert [record(sweep / j)["status"] for j in "01"] == ["finished"] * 2
    assert not (sweep / "summary.csv").exists()
    before = [record(sweep / j) for j in "01"]

    started_at = time.monotonic()
    again = train("-m", *SLURM, *args, f"hydra.sweep.dir={sweep}", env=slurm_env)
    assert "0 to run (jobs none)" in again.stdout + again.stderr
    assert [record(sweep / j) for j in "01"] == before
    assert (sweep / "summary.csv").is_file() and (sweep / "report.md").is_file()
    assert array_tasks(sweep) == tasks  # nothing submitted again
    assert time.monotonic() - started_at < 60


def test_ddp_across_two_slurm_tasks_is_one_job_with_one_record(slurm_env, tmp_path):
    sweep = tmp_path / "sweep"
    train(
        "-m", *SLURM, "hydra.launcher.tasks_per_node=2", "trainer=ddp",
        "trainer.accelerator=cpu", "trainer.devices=2", "data.size=256",
        "trainer.max_epochs=1", *QUICK, f"hydra.sweep.dir={sweep}", env=slurm_env,
    )  # fmt: skip
    job = record(sweep / "0")
    assert job["status"] == "finished" and job["train_images_seen"] == 256
    (task,) = array_tasks(sweep)
    logs = [(sweep / ".submitit" / task / f"{task}_{rank}_log.err").read_text() for rank in (0, 1)]
    assert "GLOBAL_RANK: 0, MEMBER: 1/2" in logs[0]
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in logs[1]
    assert [p.name for p in sweep.iterdir() if p.name.isdigit()] == ["0"]
