"""Sweeps that survive and resume, through the real entry point: failing and diverging
jobs, kill -9 and resume, damaged checkpoints, parallel and submitit launchers."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest

from auglab.machine import available_cores
from tests.helpers import QUICK, record, results, train


def rows(sweep: Path) -> list[dict]:
    with (sweep / "summary.csv").open() as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_a_failing_combination_is_recorded_and_the_other_jobs_run(run_env, tmp_path):
    sweep = tmp_path / "sweep"
    proc = train(
        "-m", "data.size=100,0,200", "trainer.max_epochs=1", *QUICK,
        f"hydra.sweep.dir={sweep}", env=run_env, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    statuses = [(r["status"], r["stage"]) for r in map(record, (sweep / n for n in "012"))]
    assert statuses == [("finished", None), ("failed", "config"), ("finished", None)]
    assert record(sweep / "1")["error"].startswith("data.size=0 must be a whole number >= 1")
    assert [(r["status"], r["error"][:8]) for r in rows(sweep)] == [
        ("finished", ""),
        ("failed", "config: "),
        ("finished", ""),
    ]
    assert "job 1 (data.size=0 trainer.max_epochs=1" in (sweep / "report.md").read_text()
    err = proc.stderr.strip().splitlines()
    assert err[-2].startswith("auglab: job 1 (data.size=0 ") and "failed at config" in err[-2]
    assert err[-1].startswith("auglab: error: 1 of the sweep's jobs did not finish")
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_a_combination_that_does_not_compose_is_that_jobs_failure(run_env, tmp_path):
    sweep = tmp_path / "sweep"
    proc = train(
        "-m", "aug=off,no_such_preset", "data.size=100", "trainer.max_epochs=1", *QUICK,
        f"hydra.sweep.dir={sweep}", env=run_env, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert record(sweep / "0")["status"] == "finished"
    failed = record(sweep / "1")
    assert (failed["status"], failed["stage"]) == ("failed", "config")
    assert "no_such_preset" in failed["error"]


@pytest.mark.slow
def test_a_nan_job_stops_at_once_as_diverged_and_every_json_parses(run_env, tmp_path):
    sweep = tmp_path / "sweep"
    proc = train(
        "-m", "optim=sgd", "optim.lr=1e38,0.01", "data.size=200", "trainer.max_epochs=3",
        "logger=many", "callbacks.pictures=null", f"hydra.sweep.dir={sweep}", env=run_env, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    diverged = record(sweep / "0")
    assert (diverged["status"], diverged["stage"]) == ("diverged", "fit")
    assert diverged["error"].startswith("diverged at epoch 1 step ")
    # Past max_loss (1e4) before it is even non-finite.
    error = diverged["error"]
    assert "(loss nan)" in error or "(loss inf)" in error or "> max_loss 10000)" in error
    assert "lower optim.lr (now 1e+38)" in diverged["error"]
    assert diverged["test_acc"] is None and diverged["epochs"] is None
    assert record(sweep / "1")["status"] == "finished"
    report = (sweep / "report.md").read_text()
    assert (
        "1 finished jobs of 2 expected" in report
        and "job 0 (optim=sgd optim.lr=1e+38 data.size=200 trainer.max_epochs=3 logger=many callbacks.pictures=null): diverged at epoch 1"
        in report
    )
    for path in sweep.rglob("*.json"):  # ours, W&B's and anything else: strict JSON
        json.loads(path.read_text(), parse_constant=lambda c, p=path: pytest.fail(f"{p}: {c}"))


@pytest.mark.slow
def test_a_rerun_of_a_sequential_sweep_skips_its_finished_jobs(run_env, tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "hydra/launcher=basic", "data.size=100,200", "trainer.max_epochs=1", *QUICK]
    train(*args, f"hydra.sweep.dir={sweep}", env=run_env)
    first = (sweep / "0" / "metrics.json").read_text()
    (sweep / "1" / "metrics.json").unlink()  # job 1 as if it never ran
    shutil.rmtree(sweep / "1" / "checkpoints")
    again = train(*args, f"hydra.sweep.dir={sweep}", env=run_env)
    assert "Sweep of 2 jobs: 1 to run (jobs 1), 1 already finished" in again.stdout
    assert "job 1: starting" in again.stdout
    assert (sweep / "0" / "metrics.json").read_text() == first
    assert record(sweep / "1")["status"] == "finished"


TRUNCATED_RUN = ["data.size=1000", "aug=on", "trainer.max_epochs=3", *QUICK]


@pytest.fixture(scope="module")
def finished_runs(mnist_root, tmp_path_factory) -> Path:
    """One run trained to the end three times: ``whole`` to compare with, ``damaged<i>`` to
    damage in place (a copy elsewhere would not be the same job: its checkpoints name their dir)."""
    root = tmp_path_factory.mktemp("finished")
    env = _env(mnist_root, root)
    for name in ("whole", "damaged0", "damaged1"):
        train(*TRUNCATED_RUN, f"hydra.run.dir={root / name}", env=env)
    return root


def _env(mnist_root: Path, tmp: Path) -> dict[str, str]:
    env = dict(os.environ, AUGLAB_DATA_DIR=str(mnist_root), WANDB_MODE="offline")
    return dict(env, WANDB_SILENT="true", WANDB_DIR=str(tmp), PYTHONWARNINGS="ignore")


@pytest.mark.slow
@pytest.mark.xdist_group("finished_runs")  # one worker builds the fixture, not both
@pytest.mark.parametrize("damaged", [["last.ckpt"], ["last.ckpt", "best"]])
def test_a_truncated_checkpoint_is_passed_over_and_the_run_still_ends_the_same(
    run_env, tmp_path, finished_runs, damaged
):
    broken = finished_runs / f"damaged{len(damaged) - 1}"
    # As a kill leaves it: the record says running, the newest checkpoint is cut short.
    saved = record(broken)
    saved["status"] = "running"
    (broken / "metrics.json").write_text(json.dumps(saved))
    for ckpt in (broken / "checkpoints").glob("*.ckpt"):
        if any(ckpt.name.startswith(d) for d in damaged):
            ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])

    proc = train(*TRUNCATED_RUN, f"hydra.run.dir={broken}", env=run_env)
    assert "last.ckpt is damaged (truncated or unreadable)" in proc.stdout
    if len(damaged) == 1:
        assert "resuming from epoch" in proc.stdout and "best-epoch" in proc.stdout
    else:
        assert "starting from scratch" in proc.stdout
    assert (broken / "checkpoints" / "last.ckpt.damaged").exists()  # set aside, not deleted
    assert results(broken) == results(finished_runs / "whole")


def test_a_finished_single_run_is_not_trained_again(run_env, tmp_path):
    out = tmp_path / "run"
    args = ["data.size=100", "trainer.max_epochs=1", *QUICK, f"hydra.run.dir={out}"]
    train(*args, env=run_env)
    before = (out / "metrics.json").read_text()
    proc = train(*args, env=run_env)
    assert "run: finished, skipping" in proc.stdout
    assert (out / "metrics.json").read_text() == before


def test_joblib_runs_a_2x2_sweep_in_parallel_with_shared_out_threads(run_env, tmp_path):
    sweep = tmp_path / "sweep"
    proc = train(
        "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "data.size=100,200",
        "aug=on,off", "trainer.max_epochs=1", "logger=wandb", "callbacks.pictures=null",
        f"hydra.sweep.dir={sweep}", env=run_env,
    )  # fmt: skip
    assert [r["status"] for r in rows(sweep)] == ["finished"] * 4
    assert (sweep / "report.md").exists() and "Sweep summary" in proc.stdout
    for job in "0123":
        assert record(sweep / job)["threads"] == max(1, available_cores() // 2)
        (run,) = (sweep / job / "wandb").glob("offline-run-*/run-*.wandb")
        assert sweep.name.encode() in run.read_bytes()  # W&B group: the sweep
    assert "job 3: epoch 1/1 val/loss" in proc.stdout  # log lines, not two garbled bars


@pytest.mark.slow
def test_joblib_results_match_the_basic_launcher_for_the_same_seed(run_env, tmp_path):
    args = ["-m", "data.size=300", "aug=on", "trainer.max_epochs=2", "threads=1", *QUICK]
    train(*args, "hydra/launcher=basic", f"hydra.sweep.dir={tmp_path / 'basic'}", env=run_env)
    train(*args, f"hydra.sweep.dir={tmp_path / 'joblib'}", env=run_env)  # the default launcher
    assert results(tmp_path / "basic" / "0") == results(tmp_path / "joblib" / "0")


@pytest.mark.slow
def test_a_ddp_cpu_job_under_joblib_finishes(run_env, tmp_path):
    sweep = tmp_path / "sweep"
    train(
        "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=1", "trainer=ddp_cpu",
        "data.size=256", "trainer.max_epochs=1", *QUICK, f"hydra.sweep.dir={sweep}", env=run_env,
    )  # fmt: skip
    job = record(sweep / "0")
    assert job["status"] == "finished" and job["train_images_seen"] == 256
    assert (sweep / "0" / "train_ddp_process_1.log").exists()
    assert not (sweep / "0" / "0").exists()  # the DDP child ran this job, not the sweep


@pytest.mark.slow
def test_submitit_local_runs_a_2x2_sweep(run_env, tmp_path):
    sweep = tmp_path / "sweep"
    train(
        "-m", "hydra/launcher=submitit_local", "data.size=100,200", "aug=on,off",
        "trainer.max_epochs=1", *QUICK, f"hydra.sweep.dir={sweep}", env=run_env,
    )  # fmt: skip
    assert [r["status"] for r in rows(sweep)] == ["finished"] * 4
    assert [r["threads"] for r in map(record, (sweep / j for j in "0123"))] == [1] * 4


@pytest.mark.slow
@pytest.mark.parametrize(
    "trainer",
    [
        # trainer=ddp_cpu: tests/test_train.py::test_ddp_cpu_sweep_trains_each_job_in_two_processes
        # Lightning's CSV logger breaks under spawn (it rewrites its header in the child),
        # and spawned processes cannot start inside a joblib worker.
        [
            "trainer=ddp_spawn",
            "trainer.accelerator=cpu",
            "trainer.devices=2",
            "logger=none",
            "hydra/launcher=basic",
        ],
    ],
)
def test_cpu_strategies_finish_a_two_job_multirun(run_env, tmp_path, trainer):
    sweep = tmp_path / "sweep"
    train(
        "-m", *trainer, "data.size=128,256", "trainer.max_epochs=1", "callbacks.pictures=null",
        f"hydra.sweep.dir={sweep}", env=run_env,
    )  # fmt: skip
    assert [r["status"] for r in rows(sweep)] == ["finished"] * 2
    assert [record(sweep / j)["train_images_seen"] for j in "01"] == [128, 256]


@pytest.mark.slow
def test_a_resumed_job_continues_its_wandb_run(run_env, tmp_path):
    out = tmp_path / "run"
    args = [
        "data.size=100",
        "trainer.max_epochs=2",
        "callbacks.pictures=null",
        f"hydra.run.dir={out}",
    ]
    train(*args, env=run_env)
    saved = record(out)
    saved["status"] = "running"  # as a kill after the last epoch leaves it
    (out / "metrics.json").write_text(json.dumps(saved))
    train(*args, env=run_env)
    run_id = (out / "wandb_id.txt").read_text().strip()
    runs = sorted((out / "wandb").glob("offline-run-*"))
    assert len(runs) == 2 and all(r.name.endswith(f"-{run_id}") for r in runs)
