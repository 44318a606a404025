"""The end-of-sweep summary built from each job's metrics.json."""

from __future__ import annotations

import csv
import json

from omegaconf import OmegaConf

from auglab.sweep import SweepSummary, write_summary


def fake_job(sweep, num, overrides, acc, **newer):
    """An older job's metrics.json; ``newer`` adds keys later versions of train.py write."""
    job = sweep / str(num)
    job.mkdir(parents=True)
    (job / "metrics.json").write_text(
        json.dumps(
            {
                "job_num": num,
                "overrides": overrides,
                "test/acc": acc,
                "test/loss": 1 - acc,
                "val/acc_best": acc,
                "train_size": 100,
                "epochs": 2,
                "fit_seconds": 1.0,
                "train_images_per_second": 50.0,
                "seed": 42,
                **newer,
            }
        )
    )


def test_rows_follow_job_order_and_shared_overrides_leave_the_table(tmp_path):
    for num, (size, aug, acc) in enumerate(
        [(100, "on", 0.7), (100, "off", 0.6), (1000, "on", 0.9)]
    ):
        fake_job(tmp_path, num, [f"data.size={size}", f"aug={aug}", "trainer.max_epochs=2"], acc)
    (tmp_path / "3").mkdir()  # an unfinished job: no metrics.json yet
    write_summary(tmp_path)
    with (tmp_path / "summary.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["job"] for r in rows] == ["0", "1", "2"]
    assert [(r["data.size"], r["aug"], r["test_acc"]) for r in rows] == [
        ("100", "on", "0.7"),
        ("100", "off", "0.6"),
        ("1000", "on", "0.9"),
    ]
    assert "trainer.max_epochs" not in rows[0]
    md = (tmp_path / "summary.md").read_text()
    assert "`trainer.max_epochs=2`" in md and " 0.9000 |" in md


def test_callback_prints_the_table(tmp_path, capsys):
    fake_job(tmp_path, 0, ["aug=on"], 0.5)
    SweepSummary().on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}}))
    assert "0.5000" in capsys.readouterr().out
    assert (tmp_path / "summary.md").exists()


def test_no_finished_job_writes_nothing(tmp_path):
    assert write_summary(tmp_path) is None
    assert not (tmp_path / "summary.csv").exists()


def read_rows(sweep):
    with (sweep / "summary.csv").open() as f:
        return list(csv.DictReader(f))


def test_step_and_image_counts_are_columns_when_jobs_record_them(tmp_path):
    counts = {"optimizer_steps": 4, "train_images_seen": 256, "aug": "on", "aug_strength": 1.0}
    fake_job(tmp_path, 0, ["data.size=100"], 0.7, **counts)
    fake_job(tmp_path, 1, ["data.size=200"], 0.8, **counts)
    write_summary(tmp_path)
    row = read_rows(tmp_path)[0]
    assert (row["optimizer_steps"], row["train_images_seen"]) == ("4", "256")
    # The same preset and strength in every job: no column for them.
    assert "aug" not in row and "aug_strength" not in row


def test_settings_that_differ_without_being_swept_get_a_column(tmp_path):
    # Two experiments that pick different presets, strengths and synthetic sets.
    fake_job(tmp_path, 0, ["experiment=a"], 0.7, aug="on", aug_strength=0.5, synthetic_size=None)
    fake_job(tmp_path, 1, ["experiment=b"], 0.8, aug="e2", aug_strength=1.0, synthetic_size=1000)
    write_summary(tmp_path)
    rows = read_rows(tmp_path)
    assert [(r["aug"], r["aug_strength"], r["synthetic_size"]) for r in rows] == [
        ("on", "0.5", ""),
        ("e2", "1.0", "1000"),
    ]
    assert "optimizer_steps" not in rows[0]  # older files: no empty column


def test_a_swept_aug_is_not_repeated_as_a_metrics_column(tmp_path):
    fake_job(tmp_path, 0, ["aug=on"], 0.7, aug="on")
    fake_job(tmp_path, 1, ["aug=off"], 0.6, aug="off")
    write_summary(tmp_path)
    assert list(read_rows(tmp_path)[0]).count("aug") == 1
