"""The end-of-sweep summary built from each job's record."""

from __future__ import annotations

import csv

from omegaconf import OmegaConf

from auglab.summary import write_summary
from auglab.sweep import SweepSummary
from tests.helpers import write_job

fake_job = write_job


def failed_job(sweep, num):
    error = "data.size=0 must be positive"
    return fake_job(sweep, num, ["data.size=0"], None, status="failed", stage="config", error=error)


def summarise(sweep):
    from auglab.record import sweep_records

    return write_summary(sweep, [r for _, r in sweep_records(sweep)])


def read_rows(sweep):
    with (sweep / "summary.csv").open() as f:
        return list(csv.DictReader(f))


def test_rows_follow_job_order_and_shared_overrides_leave_the_table(tmp_path):
    for num, (size, aug, acc) in enumerate(
        [(100, "on", 0.7), (100, "off", 0.6), (1000, "on", 0.9)]
    ):
        fake_job(tmp_path, num, [f"data.size={size}", f"aug={aug}", "trainer.max_epochs=2"], acc)
    (tmp_path / "3").mkdir()  # a job dir without a record: not a row
    summarise(tmp_path)
    rows = read_rows(tmp_path)
    assert [r["job"] for r in rows] == ["0", "1", "2"]
    assert [(r["data.size"], r["aug"], r["test_acc"], r["status"]) for r in rows] == [
        ("100", "on", "0.7", "finished"),
        ("100", "off", "0.6", "finished"),
        ("1000", "on", "0.9", "finished"),
    ]
    assert "trainer.max_epochs" not in rows[0]
    md = (tmp_path / "summary.md").read_text()
    assert "`trainer.max_epochs=2`" in md and " 0.9000 |" in md and "3 jobs (3 finished)" in md


def test_failed_and_diverged_jobs_are_rows_with_status_and_error(tmp_path):
    fake_job(tmp_path, 0, ["data.size=100"], 0.7)
    failed_job(tmp_path, 1)
    fake_job(
        tmp_path,
        2,
        ["data.size=200"],
        None,
        status="diverged",
        stage="fit",
        error="diverged at epoch 1 step 2 (loss nan)",
    )
    summarise(tmp_path)
    rows = read_rows(tmp_path)
    assert [(r["status"], r["error"]) for r in rows] == [
        ("finished", ""),
        ("failed", "config: data.size=0 must be positive"),
        ("diverged", "fit: diverged at epoch 1 step 2 (loss nan)"),
    ]
    assert "3 jobs (1 finished, 1 failed, 1 diverged)" in (tmp_path / "summary.md").read_text()


def test_callback_prints_the_table(tmp_path, capsys):
    fake_job(tmp_path, 0, ["aug=on"], 0.5)
    SweepSummary().on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}}))
    assert "0.5000" in capsys.readouterr().out
    assert (tmp_path / "summary.md").exists()


def test_callback_names_each_failure_and_exits_non_zero(tmp_path, capsys):
    fake_job(tmp_path, 0, ["data.size=100"], 0.5)
    failed_job(tmp_path, 1)
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    try:
        SweepSummary().on_multirun_end(config)
    except SystemExit as exit:
        assert exit.code == 1
    else:
        raise AssertionError("a sweep with a failed job must exit non-zero")
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "auglab: job 1 (data.size=0): failed at config: data.size=0 must be positive"
    assert err[1].startswith("auglab: error: 1 of the sweep's jobs did not finish")
    assert (tmp_path / "summary.md").exists() and (tmp_path / "report.md").exists()


def test_no_record_writes_nothing(tmp_path):
    assert write_summary(tmp_path, []) is None
    assert not (tmp_path / "summary.csv").exists()


def test_settings_that_differ_without_being_swept_get_a_column(tmp_path):
    # Two experiments that pick different presets, strengths and synthetic sets.
    fake_job(tmp_path, 0, ["experiment=a"], 0.7, aug="on", aug_strength=0.5, synthetic_size=None)
    fake_job(tmp_path, 1, ["experiment=b"], 0.8, aug="e2", aug_strength=1.0, synthetic_size=1000)
    summarise(tmp_path)
    rows = read_rows(tmp_path)
    assert [(r["aug"], r["aug_strength"], r["synthetic_size"]) for r in rows] == [
        ("on", "0.5", ""),
        ("e2", "1.0", "1000"),
    ]


def test_a_swept_aug_is_not_repeated_as_a_record_column(tmp_path):
    fake_job(tmp_path, 0, ["aug=on"], 0.7, aug="on")
    fake_job(tmp_path, 1, ["aug=off"], 0.6, aug="off")
    summarise(tmp_path)
    assert list(read_rows(tmp_path)[0]).count("aug") == 1
