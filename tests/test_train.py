"""The real entry point, run as a user runs it: files written, metrics, errors."""

from __future__ import annotations

import csv
import shutil

import pytest

from tests.helpers import record, train

FAST = ["trainer.max_epochs=1", "data.eval_batch_size=2500"]


def test_fast_dev_run_trains_and_tests(run_env, tmp_path):
    out = tmp_path / "run"
    proc = train("debug=fast_dev_run", "data.size=100", f"hydra.run.dir={out}", env=run_env)
    assert "Epoch 1/1" in proc.stdout  # the progress bar counts epochs
    m = record(out)
    assert 0.0 <= m["test_acc"] <= 1.0
    assert m["optimizer_steps"] == 1
    assert (out / ".hydra" / "config.yaml").exists() and (out / "config.yaml").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("debug", "extra", "steps"),
    [("limit", [], 3 * 4), ("overfit", ["trainer.max_epochs=4"], 4 * 3)],
)
def test_debug_modes_run_their_short_schedules(run_env, tmp_path, debug, extra, steps):
    out = tmp_path / "run"
    train(
        f"debug={debug}", "data.size=256", "logger=csv", *extra, f"hydra.run.dir={out}", env=run_env
    )
    assert record(out)["optimizer_steps"] == steps


@pytest.mark.slow
def test_multirun_writes_summary_row_per_job(run_env, tmp_path):
    sweep = tmp_path / "sweep"
    proc = train(
        "-m", "data.size=100,200", "aug=on,off", *FAST, f"hydra.sweep.dir={sweep}", env=run_env
    )

    jobs = sorted(p for p in sweep.iterdir() if p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1", "2", "3"]
    for job in jobs:
        m = record(job)
        assert {
            "test_acc",
            "test_loss",
            "val_acc_best",
            "epochs",
            "fit_seconds",
            "train_images_per_second",
            "seed",
            "overrides",
        } <= m.keys()
        assert m["epochs"] == 1 and m["train_images_per_second"] > 0
        assert (job / "config.yaml").exists()
        ckpts = {p.name for p in (job / "checkpoints").iterdir()}
        assert "last.ckpt" in ckpts and any(n.startswith("best") for n in ckpts)
        # W&B, offline: one run directory per job, inside the job dir, named after the
        # job's overrides, grouped by the sweep, carrying the full config.
        (run,) = (job / "wandb").glob("offline-run-*/run-*.wandb")
        wandb_run = run.read_bytes()
        name = ",".join(sorted(o for o in m["overrides"] if not o.startswith("hydra.")))
        assert name.encode() in wandb_run
        assert b"MNISTDataModule" in wandb_run
        assert sweep.name.encode() in wandb_run  # the W&B group

    with (sweep / "summary.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4
    assert {(r["data.size"], r["aug"]) for r in rows} == {
        ("100", "on"),
        ("100", "off"),
        ("200", "on"),
        ("200", "off"),
    }
    assert [int(r["train_size"]) for r in rows] == [100, 100, 200, 200]
    assert "test_acc" in (sweep / "summary.md").read_text()
    assert "Sweep summary" in proc.stdout


@pytest.mark.slow
def test_same_seed_gives_the_same_metrics(run_env, tmp_path):
    runs = []
    for name, seed in [("a", 7), ("b", 7), ("c", 8)]:
        out = tmp_path / name
        train(
            "data.size=300",
            "aug=on",
            "logger=csv",
            f"seed={seed}",
            *FAST,
            f"hydra.run.dir={out}",
            env=run_env,
        )
        runs.append(record(out))
    keys = ["test_acc", "test_loss", "val_acc_best"]
    assert [runs[0][k] for k in keys] == [runs[1][k] for k in keys]
    assert runs[0]["test_loss"] != runs[2]["test_loss"]


@pytest.mark.slow
def test_every_logger_writes_its_files(run_env, tmp_path):
    out = tmp_path / "run"
    train("logger=many", "data.size=100", *FAST, f"hydra.run.dir={out}", env=run_env)
    # The process ends without Python's teardown (auglab.train.cli): every logger's
    # files must be complete before that, the W&B run finished (its runtime summary
    # is written at finish; an unfinished offline run file holds a few bytes).
    assert "test/acc" in (out / "csv" / "metrics.csv").read_text()
    events = b"".join(f.read_bytes() for f in (out / "tensorboard").glob("events.out.tfevents.*"))
    assert b"val/acc" in events and b"test/acc" in events
    (wandb_run,) = (out / "wandb").glob("offline-run-*/run-*.wandb")
    assert b"_runtime" in wandb_run.read_bytes()


@pytest.mark.slow
def test_ddp_cpu_sweep_trains_each_job_in_two_processes(run_env, tmp_path):
    # Two DDP jobs in one sweep: the second must not inherit the first's process group.
    sweep = tmp_path / "sweep"
    train(
        "-m",
        "trainer=ddp_cpu",
        "data.size=256,128",
        "logger=csv",
        *FAST,
        f"hydra.sweep.dir={sweep}",
        env=run_env,
    )
    for job, size in [("0", 256), ("1", 128)]:
        m = record(sweep / job)
        assert m["train_images_seen"] == size  # both ranks' halves counted once
        assert (sweep / job / "train_ddp_process_1.log").exists()
    assert not (sweep / "0" / "0").exists()  # children did not start the sweep again


@pytest.mark.slow
@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.size=-5", "data.size=-5 must be a whole number >= 1"),
        ("data.size=abc", "data.size='abc' must be a whole number >= 1"),
        ("data.size=2.5", "data.size=2.5 must be a whole number >= 1"),
        ("data.size=60000", "data.size=60000 is larger than the 55000"),
    ],
)
def test_bad_size_stops_before_training_and_leaves_no_run_dir(run_env, tmp_path, override, message):
    logs = tmp_path / "logs"
    proc = train(override, f"paths.log_dir={logs}", env=run_env, check=False)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("auglab: error: ") and message in last
    assert "Epoch" not in proc.stdout + proc.stderr
    assert not logs.exists() or not any(logs.rglob("*"))


def test_missing_data_names_the_folder_and_how_to_set_it(run_env, tmp_path):
    empty = tmp_path / "nothing_here"
    env = dict(run_env, AUGLAB_DATA_DIR=str(empty))
    logs = tmp_path / "logs"
    proc = train("data.download=false", f"paths.log_dir={logs}", env=env, check=False)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert str(empty / "MNIST" / "raw") in last and "AUGLAB_DATA_DIR" in last
    assert not logs.exists() or not any(logs.rglob("*"))


@pytest.mark.slow
def test_existing_files_in_a_reused_run_dir_survive_a_config_error(run_env, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    proc = train("data.size=0", f"hydra.run.dir={out}", env=run_env, check=False)
    assert proc.returncode != 0
    assert (out / "notes.txt").read_text() == "keep me"
    assert not (out / ".hydra").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["trainer.max_epochs=0"], "trainer.max_epochs=0 must be a whole number >= 1; E1 uses 30"),
        (["optim.lr=-1"], "Invalid learning rate: -1"),
        (["optimized_metric=test/f1"], "optimized_metric='test/f1' is not recorded: use one of"),
        (["threads=0"], "threads=0 must be a whole number >= 1"),
        (["trainer=fsdp", "trainer.accelerator=cpu"], "requires a GPU accelerator"),
    ],
)
def test_bad_knobs_give_one_line_before_training_and_leave_nothing(
    run_env, tmp_path, overrides, message
):
    logs = tmp_path / "logs"
    proc = train(*overrides, "data.size=100", f"paths.log_dir={logs}", env=run_env, check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("auglab: error: ") and message in last
    assert not logs.exists() or not any(logs.rglob("*"))


@pytest.mark.slow
def test_a_truncated_mnist_file_names_the_file_and_the_fix(run_env, mnist_root, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(mnist_root, data)
    for unpacked in (data / "MNIST" / "raw").glob("*-ubyte"):
        unpacked.unlink()  # other tests' runs unpacked the shared copy: start from the .gz files
    archive = data / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    archive.write_bytes(archive.read_bytes()[:100])
    logs = tmp_path / "logs"
    env = dict(run_env, AUGLAB_DATA_DIR=str(data))
    proc = train(
        "data.size=100", "data.download=false", f"paths.log_dir={logs}", env=env, check=False
    )
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert f"{archive} is damaged" in last and "replace it with an intact copy" in last
    assert not (data / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").exists()  # no half file
    assert not logs.exists() or not any(logs.rglob("*"))


@pytest.mark.parametrize("multirun", [False, True])
def test_an_output_dir_that_cannot_be_written_is_one_line(run_env, tmp_path, multirun):
    blocked = tmp_path / "a_file"
    blocked.write_text("not a folder")
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    args = ["-m"] if multirun else []
    proc = train(*args, f"{key}={blocked / 'run'}", "data.size=100", env=run_env, check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (
        f"auglab: error: cannot write the output dir {blocked / 'run'}: {blocked} is a file, "
        f"not a folder; set {key}=<a folder you can write> (or paths.log_dir=... for every run)"
    )
    assert blocked.read_text() == "not a folder"
