"""The data knobs that separate data from training length, through the real entry point."""

from __future__ import annotations

import shutil

import pytest

from tests.helpers import record, train

FAST = ["trainer.max_epochs=2", "data.eval_batch_size=2500", "logger=csv"]


@pytest.mark.slow
def test_synthetic_run_records_source_and_synthetic_sizes_and_reuses_its_set(run_env, tmp_path):
    out = tmp_path / "run"
    args = ["data.size=100", "aug=on", "data.synthetic_size=640", *FAST, f"hydra.run.dir={out}"]
    train(*args, env=run_env)
    m = record(out)
    assert (m["train_size"], m["synthetic_size"]) == (100, 640)
    assert m["train_images_seen"] == 2 * 640 and m["optimizer_steps"] == 2 * 10
    saved = out / "synthetic_640.npz"
    stamp = saved.stat().st_mtime_ns
    proc = train(*args, env=run_env)  # the same job again, into the same dir: already finished
    assert "run: finished, skipping" in proc.stdout and saved.stat().st_mtime_ns == stamp
    shutil.rmtree(out / "checkpoints")
    (out / "metrics.json").unlink()  # train it again from scratch, in the same dir
    proc = train(*args, env=run_env)
    assert "Reusing 640 synthetic images" in proc.stdout + proc.stderr
    assert saved.stat().st_mtime_ns == stamp
    assert record(out)["test_acc"] == m["test_acc"]


@pytest.mark.slow
def test_samples_per_epoch_matches_steps_across_sizes(run_env, tmp_path):
    sweep = tmp_path / "sweep"
    train(
        "-m", "data.size=50,500", "data.samples_per_epoch=320", *FAST,
        "callbacks.pictures=null", f"hydra.sweep.dir={sweep}", env=run_env,
    )  # fmt: skip
    assert not (sweep / "0" / "pictures").exists()  # a callback switched off with null
    jobs = [record(sweep / str(i)) for i in (0, 1)]
    assert [j["train_size"] for j in jobs] == [50, 500]
    assert [j["optimizer_steps"] for j in jobs] == [10, 10]
    assert [j["samples_per_epoch"] for j in jobs] == [320, 320]


@pytest.mark.slow
def test_a_regularisation_setting_trains_and_is_recorded_and_a_bad_one_stops_first(
    run_env, tmp_path
):
    out = tmp_path / "run"
    train(
        "data.size=100", "reg=dropout", "reg.strength=2", *FAST, f"hydra.run.dir={out}", env=run_env
    )
    m = record(out)
    assert (m["reg"], m["reg_strength"], m["test_acc"] is not None) == ("dropout", 2.0, True)
    bad = tmp_path / "bad"
    proc = train(
        "data.size=100", "model=mlp", "reg=dropout", *FAST, f"hydra.run.dir={bad}",
        env=run_env, check=False,
    )  # fmt: skip
    assert proc.returncode != 0 and "MLP has no dropout knob" in proc.stderr
    assert "Traceback" not in proc.stderr and not (bad / "checkpoints").exists()
