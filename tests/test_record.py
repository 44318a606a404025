"""The job record: per-class test accuracy, written as strict JSON, filled by a real run."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from auglab.record import JobRecord, read_record, write_record
from tests.helpers import N_TEST, make_digits, record, train


def test_a_class_without_test_images_is_written_as_null(tmp_path):
    per_class = [0.5, float("nan"), 1.0]
    write_record(JobRecord(status="finished", test_class_acc=per_class), tmp_path)
    assert record(tmp_path)["test_class_acc"] == [0.5, None, 1.0]  # parses with NaN refused
    assert read_record(tmp_path).test_class_acc == [0.5, None, 1.0]


def test_records_from_before_per_class_accuracy_read_as_not_recorded(tmp_path):
    (tmp_path / "metrics.json").write_text('{"status": "finished", "test_acc": 0.9}\n')
    old = read_record(tmp_path)
    assert (old.test_acc, old.test_class_acc, old.class_names) == (0.9, None, None)


def test_the_subset_seed_is_read_from_the_overrides_where_a_record_lacks_it(tmp_path):
    (tmp_path / "metrics.json").write_text(
        '{"status": "finished", "seed": 1, "overrides": ["data.subset_seed=7", "seed=1"]}\n'
    )
    assert read_record(tmp_path).draws == (7, 1)  # a record from before the field
    write_record(JobRecord(status="finished", overrides=["+data.subset_seed=3"]), tmp_path)
    assert record(tmp_path)["subset_seed"] == 3  # written out, typed
    assert JobRecord(status="finished", subset_seed=2, overrides=["data.subset_seed=3"]).draws == (
        2,
        None,
    )  # the field wins: it is what the job trained on
    for overrides in ([], ["data.subset_seed=null"], ["data.size=100"]):
        assert JobRecord(status="finished", overrides=overrides, seed=4).draws == (None, 4)


@pytest.mark.slow
def test_a_run_without_logger_drops_the_learning_rate_monitor_and_records_each_class(
    run_env, tmp_path
):
    # callbacks/default.yaml has a LearningRateMonitor, which Lightning refuses without a
    # logger (MisconfigurationException at fit): the run finishing shows train.py left it out.
    out = tmp_path / "run"
    train(
        "data.size=200",
        "trainer.max_epochs=1",
        "logger=none",
        "callbacks.pictures=null",
        "data.eval_batch_size=500",
        f"hydra.run.dir={out}",
        env=run_env,
    )
    m = record(out)
    assert m["class_names"] == [str(d) for d in range(10)]
    assert len(m["test_class_acc"]) == 10
    # Weighted by the test set's class counts, the per-class accuracies give the test accuracy.
    counts = np.bincount(make_digits(N_TEST, seed=1)[1], minlength=10)  # conftest's test file
    weighted = sum(n * (acc or 0.0) for n, acc in zip(counts, m["test_class_acc"], strict=True))
    assert weighted / N_TEST == pytest.approx(m["test_acc"], abs=1e-6)


@pytest.mark.slow
def test_the_learning_rate_monitor_logs_each_epochs_learning_rate(run_env, tmp_path):
    out = tmp_path / "run"
    train(
        "data.size=200",
        "trainer.max_epochs=2",
        "logger=csv",
        "optim.lr=0.003",
        "callbacks.pictures=null",
        "data.eval_batch_size=500",
        f"hydra.run.dir={out}",
        env=run_env,
    )
    with (out / "csv" / "metrics.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert "lr-Adam" in rows[0]  # callbacks/default.yaml's LearningRateMonitor, named by optimizer
    logged = [(int(r["step"]), float(r["lr-Adam"])) for r in rows if r["lr-Adam"]]
    # Once an epoch (at its first step), the configured value.
    assert len(logged) == 2 and logged[0][0] == 0 < logged[1][0]
    assert [lr for _, lr in logged] == [pytest.approx(0.003)] * 2
