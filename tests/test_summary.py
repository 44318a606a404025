"""The end-of-sweep summary built from each job's record, and the callback that writes it,
the report and the W&B report run."""

from __future__ import annotations

import csv
import json
import sys

import pytest
from omegaconf import DictConfig, OmegaConf

from auglab.end_of_sweep import EndOfSweep
from auglab.errors import ConfigError
from auglab.lock import Holder
from auglab.plan import PlanEntry, PlannedJob
from auglab.report.summary_table import summary_table, write_summary
from auglab.report.wandb_run import REPORT_RUN_DIR
from tests.helpers import write_job

fake_job = write_job


def failed_job(sweep, num):
    error = "data.size=0 must be positive"
    return fake_job(sweep, num, ["data.size=0"], None, status="failed", stage="config", error=error)


def summarise(sweep):
    from auglab.record import sweep_records

    return write_summary(sweep, summary_table([r for _, r in sweep_records(sweep)]))


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


def test_unfinished_jobs_show_their_state_never_a_failure(tmp_path):
    """The plan's stand-in records (``PlannedJob.as_record``) of jobs that have not ended."""
    finished = fake_job(tmp_path, 0, ["data.size=100"], 0.7)
    started = fake_job(tmp_path, 1, ["data.size=200"], None, status="running")
    died = fake_job(tmp_path, 2, ["data.size=250"], None, status="running")
    other = Holder("node7", 123, "2025-01-01T13:20:01+00:00", "t0k3n", age=1.0)
    interrupted = fake_job(
        tmp_path, 4, ["data.size=500"], None, status="interrupted", stage="fit", error="SIGTERM"
    )
    jobs = [
        PlannedJob(PlanEntry(0, ("data.size=100",), "fp0"), tmp_path / "0", finished, None),
        PlannedJob(PlanEntry(1, ("data.size=200",), "fp1"), tmp_path / "1", started, other),
        PlannedJob(PlanEntry(2, ("data.size=250",), "fp2"), tmp_path / "2", died, None),
        PlannedJob(PlanEntry(3, ("data.size=300",), "fp3"), tmp_path / "3", None, None),
        PlannedJob(PlanEntry(4, ("data.size=500",), "fp4"), tmp_path / "4", interrupted, None),
    ]
    write_summary(tmp_path, summary_table([job.as_record() for job in jobs]))
    assert [(r["job"], r["data.size"], r["status"], r["error"]) for r in read_rows(tmp_path)] == [
        ("0", "100", "finished", ""),
        ("1", "200", "running elsewhere", ""),
        ("2", "250", "stopped", ""),
        ("3", "300", "not started", ""),
        ("4", "500", "interrupted", "fit: SIGTERM"),
    ]
    md = (tmp_path / "summary.md").read_text()
    assert "5 jobs (1 finished, 1 running elsewhere, 1 stopped, 1 not started, 1 interrupted)" in md
    assert "failed" not in md


def test_callback_prints_the_table(tmp_path, capsys):
    fake_job(tmp_path, 0, ["aug=on"], 0.5)
    EndOfSweep().on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}}))
    assert "0.5000" in capsys.readouterr().out
    assert (tmp_path / "summary.md").exists()


def test_callback_names_each_failure_and_exits_non_zero(tmp_path, capsys):
    fake_job(tmp_path, 0, ["data.size=100"], 0.5)
    failed_job(tmp_path, 1)
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    try:
        EndOfSweep().on_multirun_end(config)
    except SystemExit as exit:
        assert exit.code == 1
    else:
        raise AssertionError("a sweep with a failed job must exit non-zero")
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "auglab: job 1 (data.size=0): failed at config: data.size=0 must be positive"
    assert err[1].startswith("auglab: error: 1 of the sweep's jobs did not finish")
    assert (tmp_path / "summary.md").exists() and (tmp_path / "report.md").exists()


def test_no_record_writes_nothing(tmp_path):
    assert summary_table([]) is None and write_summary(tmp_path, summary_table([])) is None
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


def test_a_subset_seed_gets_a_column_only_where_no_override_already_shows_it(tmp_path):
    fake_job(tmp_path / "a", 0, ["experiment=a"], 0.7, subset_seed=3)  # set by the experiment
    fake_job(tmp_path / "a", 1, ["experiment=b"], 0.8)
    summarise(tmp_path / "a")
    assert [r["subset_seed"] for r in read_rows(tmp_path / "a")] == ["3", ""]
    fake_job(tmp_path / "b", 0, ["data.subset_seed=0"], 0.7)
    fake_job(tmp_path / "b", 1, ["data.subset_seed=1"], 0.8)
    summarise(tmp_path / "b")
    assert [r["data.subset_seed"] for r in read_rows(tmp_path / "b")] == ["0", "1"]
    assert "subset_seed" not in read_rows(tmp_path / "b")[0]


# ---- the W&B report run ----------------------------------------------------------------------


def wandb_sweep_config(sweep, **wandb_logger) -> DictConfig:
    """The part of a sweep's config the callback reads, with the jobs' W&B logger."""
    logger = {
        "_target_": "lightning.pytorch.loggers.WandbLogger",
        "project": "auglab",
        "job_type": "train",
        "offline": True,
        **wandb_logger,
    }
    return OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}, "logger": {"wandb": logger}})


@pytest.fixture
def offline_wandb(monkeypatch, tmp_path_factory):
    home = tmp_path_factory.mktemp("wandb_home")
    for name in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(name, str(home / name.lower()))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")


def strict_json(path):
    def refuse(constant):
        raise AssertionError(f"{path} holds {constant}: not valid JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


@pytest.mark.slow
def test_callback_logs_the_report_as_a_wandb_run_of_its_own(tmp_path, offline_wandb):
    from wandb.proto.wandb_internal_pb2 import RunRecord

    sweep = tmp_path / "2025-01-01_12-00-00"
    fake_job(sweep, 0, ["data.size=100", "aug=off"], 0.7)
    fake_job(sweep, 1, ["data.size=100", "aug=on"], 0.8, test_loss=float("nan"))
    fake_job(sweep, 2, ["data.size=1000", "aug=off"], 0.9)  # off's curve needs two sizes
    fake_job(sweep, 3, ["data.size=1000", "aug=on"], 0.93)
    EndOfSweep().on_multirun_end(wandb_sweep_config(sweep))
    (run,) = (sweep / REPORT_RUN_DIR / "wandb").glob("offline-run-*/run-*.wandb")
    data = run.read_bytes()
    assert RunRecord(job_type="report").SerializeToString() in data
    assert RunRecord(run_group=sweep.name).SerializeToString() in data  # the jobs' group
    files = run.parent / "files" / "media"
    tables = {p.name.split("_")[0]: p for p in files.glob("table/*.table.json")}
    assert {"summary", "accuracy", "difference", "exchange"} <= set(tables)
    summary = strict_json(tables["summary"])  # NaN test loss: an empty cell, not NaN
    assert "test_acc" in summary["columns"] and len(summary["data"]) == 4
    assert list(files.glob("images/report_*.png"))


def test_no_report_run_when_the_jobs_did_not_log_to_wandb(tmp_path, offline_wandb):
    fake_job(tmp_path, 0, ["aug=on"], 0.5)
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}, "logger": {}})
    EndOfSweep().on_multirun_end(config)
    assert (tmp_path / "report.md").exists() and not (tmp_path / REPORT_RUN_DIR).exists()


def test_a_missing_wandb_costs_a_warning_line_not_the_report(
    tmp_path, offline_wandb, monkeypatch, caplog
):
    monkeypatch.setitem(sys.modules, "wandb", None)  # `import wandb` raises ImportError
    fake_job(tmp_path, 0, ["aug=on"], 0.5)
    EndOfSweep().on_multirun_end(wandb_sweep_config(tmp_path))
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.startswith("W&B report run not logged (") and str(tmp_path) in warning
    assert (tmp_path / "report.md").exists()


def test_callback_select_compares_settings_at_their_own_best_learning_rate(tmp_path, capsys):
    for num, (aug, lr, val, test) in enumerate(
        [("off", "1e-3", 0.8, 0.7), ("off", "1e-2", 0.6, 0.9), ("on", "1e-3", 0.9, 0.8)]
    ):
        fake_job(tmp_path, num, [f"aug={aug}", f"optim.lr={lr}"], test, val_acc_best=val)
    EndOfSweep(select="val/acc_best").on_multirun_end(
        OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    )
    report = (tmp_path / "report.md").read_text()
    assert "| off       | 1000         | 0.7000 " in report and "optim.lr=1e-3" in report
    assert "Tuned: each setting at its own `optim.lr`" in capsys.readouterr().out


def test_callback_refuses_selection_on_the_test_set():
    with pytest.raises(ConfigError, match="would choose on the test set"):
        EndOfSweep(select="test/acc")
