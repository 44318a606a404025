"""The sweep report: accuracy by size and setting over seeds with intervals, paired differences
to off, exchange rates, per-class effects, tuning on validation, the plan's unfinished jobs,
the CLI; resampled training subsets (data.subset_seed): pairing and the subset / seed split."""

from __future__ import annotations

import csv
import math
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml
from PIL import Image
from scipy import stats

from auglab.errors import ConfigError
from auglab.lock import LOCK_FILE, JobLock, job_holder
from auglab.plan import PlanEntry, SweepPlan, write_plan
from auglab.record import JobRecord, sweep_records, write_record
from auglab.report import (
    analysis,
    cells,
    comparisons,
    exchange_rates,
    make_report,
    setting_label,
    write_report,
)
from auglab.report.cli import main
from auglab.report.effects import pooled_sizes
from auglab.report.markdown import report_markdown
from auglab.report.tables import report_tables
from auglab.stats import t_interval
from tests.helpers import REPO, record, train, write_job


def finished_job(sweep: Path, num: int, overrides: list[str], acc: float, **fields) -> Path:
    """A finished job's record, made by the config ``plan`` gives job ``num`` (``fp<num>``)."""
    write_job(sweep, num, overrides, acc, **{"fingerprint": f"fp{num}", **fields})
    return sweep / str(num)


def plan(sweep: Path, jobs: dict[int, list[str]], grid: Sequence[int] | None = None) -> None:
    """The sweeper's plan.json: job number -> overrides, each job's config ``fp<num>``;
    the latest sweep (``grid``) is every job unless given."""
    entries = tuple(PlanEntry(num, tuple(o), f"fp{num}") for num, o in jobs.items())
    write_plan(sweep, SweepPlan(tuple(jobs if grid is None else grid), entries))


def records(sweep: Path) -> list[JobRecord]:
    return [record for _, record in sweep_records(sweep)]


def parse(overrides: list[str]) -> list[tuple[str, str]]:
    return [tuple(o.split("=", 1)) for o in overrides]


def grid_sweep(sweep: Path, classes: list[str] | None = None) -> None:
    """2 sizes x 2 settings x 2 seeds; accuracy = base by size and setting, +-0.01 by seed.
    With ``classes`` (three names), per-class accuracies too: ``on`` costs the second
    class 5 points and helps the third by 2."""
    base = {("100", "off"): 0.70, ("100", "on"): 0.80, ("1000", "off"): 0.90, ("1000", "on"): 0.95}
    jobs = {}
    for size in ("100", "1000"):
        for aug in ("off", "on"):
            for seed, delta in (("0", -0.01), ("1", 0.01)):
                overrides = [f"data.size={size}", f"aug={aug}", f"seed={seed}"]
                acc = base[size, aug] + delta
                per_class = {}
                if classes is not None:
                    accs = [acc, acc - 0.05, acc + 0.02] if aug == "on" else [acc] * 3
                    per_class = {"test_class_acc": accs, "class_names": classes}
                finished_job(sweep, len(jobs), overrides, acc, **per_class)
                jobs[len(jobs)] = overrides
    plan(sweep, jobs)


def test_a_size_by_aug_by_seed_sweep_gives_one_line_per_setting_with_std(tmp_path):
    grid_sweep(tmp_path)
    report = write_report(tmp_path)
    assert "8 finished jobs of 8 expected" in report
    rows = [line for line in report.split("## Difference")[0].splitlines() if line[:3] == "| o"]
    # 95% CI: mean ± t(1) = 12.71 standard errors (0.01 here).
    assert rows == [
        "| off       | 100          | 0.7000 ± 0.0141     | [0.5729, 0.8271] | 0.3000      | 2       |",
        "| off       | 1000         | 0.9000 ± 0.0141     | [0.7729, 1.0271] | 0.1000      | 2       |",
        "| on        | 100          | **0.8000 ± 0.0141** | [0.6729, 0.9271] | 0.2000      | 2       |",
        "| on        | 1000         | **0.9500 ± 0.0141** | [0.8229, 1.0771] | 0.0500      | 2       |",
    ]  # bold: validation's pick at each size (val_acc_best = test_acc here)
    assert "Missing" not in report
    assert (tmp_path / "report.md").read_text() == report
    with Image.open(tmp_path / "report.png") as image:  # accuracy, exchange rate, off's curve
        assert (image.format, image.size) == ("PNG", (2200, 500))
    assert (tmp_path / "summary.csv").exists() and (tmp_path / "summary.md").exists()


def test_jobs_differing_in_another_override_are_never_averaged_together(tmp_path):
    finished_job(tmp_path, 0, ["data.size=100", "optim=adam"], 0.7)
    finished_job(tmp_path, 1, ["data.size=100", "optim=sgd"], 0.5)
    finished_job(tmp_path, 2, ["data.size=100", "optim=sgd", "seed=1"], 0.6)
    got = {
        (c.setting, c.train_size): (round(c.mean, 4), len(c.accs)) for c in cells(records(tmp_path))
    }
    assert got == {("off, optim=adam", 100): (0.7, 1), ("off, optim=sgd", 100): (0.55, 2)}


@pytest.mark.parametrize(
    ("metrics", "label"),
    [
        ({"aug": "off", "aug_strength": 1.0}, "off"),
        ({"aug": "on", "aug_strength": 0.0}, "off"),
        ({"aug": "on", "aug_strength": 1.0}, "on"),
        ({"aug": "on", "aug_strength": 0.5}, "on x0.5"),
        ({"aug": "strong", "aug_strength": 2}, "strong x2"),
        ({"aug": "on", "aug_strength": 1.0, "synthetic_size": 10000}, "on synthetic 10000"),
        # Older metrics.json files: the job's overrides, then train.yaml's defaults.
        ({"overrides": ["aug=on", "aug.strength=0.25"]}, "on x0.25"),
        ({"overrides": ["aug=light", "data.synthetic_size=1e4"]}, "light synthetic 10000"),
        ({"overrides": ["data.size=100"]}, "off"),
    ],
)
def test_setting_label_names_preset_strength_and_synthetic_size(metrics, label):
    assert setting_label(JobRecord(status="finished", **metrics)) == label


def interrupted_sweep(sweep: Path) -> list[str]:
    """4 planned jobs, the first 3 finished; the overrides of the last."""
    jobs = {
        num: [f"data.size={size}", f"aug={aug}", "trainer.max_epochs=2"]
        for num, (size, aug) in enumerate(
            [("100", "off"), ("100", "on"), ("1000", "off"), ("1000", "on")]
        )
    }
    plan(sweep, jobs)
    for num in range(3):
        finished_job(sweep, num, jobs[num], 0.8)
    return jobs[3]


@pytest.mark.slow
def test_report_of_an_interrupted_sweep_lists_each_missing_job_by_state(tmp_path, capsys):
    overrides = interrupted_sweep(tmp_path)
    assert main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3 finished jobs of 4 expected" in out
    assert (
        "## Missing jobs (1)\n\n- job 3: `data.size=1000 aug=on trainer.max_epochs=2` (not started)\n"
        in out
    )
    assert (tmp_path / "report.png").exists() and (tmp_path / "summary.csv").exists()

    # The last job started, then its process died: its record still says "running".
    (tmp_path / "3").mkdir()
    running = JobRecord(status="running", job_num=3, overrides=overrides, fingerprint="fp3")
    write_record(running, tmp_path / "3")
    assert (
        "- job 3: `data.size=1000 aug=on trainer.max_epochs=2` (stopped: started, then its "
        "process died; a rerun resumes it)"
    ) in write_report(tmp_path)

    # Stopped by Ctrl-C at a resumable point.
    interrupted = JobRecord(
        status="interrupted",
        job_num=3,
        overrides=overrides,
        fingerprint="fp3",
        error="stopped (SIGTERM); a rerun resumes from epoch 2",
    )
    write_record(interrupted, tmp_path / "3")
    report = write_report(tmp_path)
    assert (
        "- job 3: `data.size=1000 aug=on trainer.max_epochs=2` (interrupted: stopped (SIGTERM); "
        "a rerun resumes from epoch 2)"
    ) in report
    assert "Failed" not in report and "3 finished jobs of 4 expected" in report


def test_a_job_another_process_trains_is_running_elsewhere_not_failed(tmp_path):
    overrides = interrupted_sweep(tmp_path)
    (tmp_path / "3").mkdir()
    running = JobRecord(status="running", job_num=3, overrides=overrides, fingerprint="fp3")
    write_record(running, tmp_path / "3")
    lock = JobLock(tmp_path / "3" / LOCK_FILE, "x")
    assert lock.acquire() is None
    try:
        holder = job_holder(tmp_path / "3")
        report = make_report(tmp_path)
    finally:
        lock.release()
    assert holder is not None
    assert report.planned[3].state == "running elsewhere"
    assert (
        f"- job 3: `data.size=1000 aug=on trainer.max_epochs=2` (running elsewhere: "
        f"{holder.describe()})"
    ) in report.text
    assert "Failed" not in report.text and "failed" not in report.summary
    summary = (tmp_path / "summary.md").read_text()
    assert "4 jobs (3 finished, 1 running elsewhere)" in summary
    assert (
        table_rows(summary)[3][:2] == ["3", "1000"]
        and "running elsewhere" in table_rows(summary)[3]
    )
    # The end of the sweep lists it (report.jobs: a stand-in record per unfinished job).
    assert [(r.job_num, r.status, r.error) for r in report.jobs if not r.ok] == [
        (3, "running", "running elsewhere")
    ]


def test_old_jobs_of_an_earlier_grid_in_the_same_dir_are_left_out(tmp_path):
    # Job 0 ran in an earlier sweep into this dir; the latest sweep is jobs 1 and 2.
    jobs = {
        0: ["data.size=100", "aug=off", "seed=1", "optim.lr=1e-3"],
        1: ["data.size=100", "aug=off", "seed=0"],
        2: ["data.size=100", "aug=on", "seed=0"],
    }
    plan(tmp_path, jobs, grid=[1, 2])
    for num, acc in ((0, 0.10), (1, 0.70), (2, 0.80)):
        finished_job(tmp_path, num, jobs[num], acc)
    report = write_report(tmp_path)
    assert "2 finished jobs of 2 expected" in report
    assert [row[:3] + row[-1:] for row in table_rows(report.split("## ")[0])] == [
        ["off", "100", "0.7000", "1"],  # job 0's 0.10 is not averaged in
        ["on", "100", "**0.8000**", "1"],  # bold: validation's pick
    ]
    assert "optim.lr" not in report and "Missing" not in report
    summary = (tmp_path / "summary.md").read_text()
    assert [row[0] for row in table_rows(summary)] == ["1", "2"]
    assert "2 jobs (2 finished)" in summary and "0.1000" not in summary


def test_a_record_of_another_config_than_the_planned_one_is_ignored(tmp_path, caplog):
    interrupted_sweep(tmp_path)
    # Job 3's dir holds a record made by another config (a hand-copied dir).
    write_job(
        tmp_path, 3, ["data.size=1000", "aug=on", "trainer.max_epochs=2"], 0.99, fingerprint="fpX"
    )
    report = write_report(tmp_path)
    assert "3 finished jobs of 4 expected" in report and "0.9900" not in report
    assert "- job 3: `data.size=1000 aug=on trainer.max_epochs=2` (not started)" in report
    assert "holds another config's record: ignored" in caplog.text
    summary = read_csv_rows(tmp_path)
    assert [(r["job"], r["status"], r["test_acc"]) for r in summary][3] == ("3", "not started", "")


def test_without_plan_json_every_record_is_reported_and_expected_jobs_are_unknown(tmp_path):
    finished_job(tmp_path, 0, ["data.size=100", "aug=off"], 0.7)
    finished_job(tmp_path, 1, ["data.size=100", "aug=on"], 0.8)
    write_job(tmp_path, 2, ["data.size=1000", "aug=on"], None, status="running")
    report = write_report(tmp_path)
    assert "2 finished jobs." in report
    assert "Expected jobs unknown: no plan.json" in report and "Missing" not in report
    assert [row[0] for row in table_rows(report.split("## ")[0])] == ["off", "on"]
    assert [(r["job"], r["status"]) for r in read_csv_rows(tmp_path)] == [
        ("0", "finished"),
        ("1", "finished"),
        ("2", "running"),
    ]


def read_csv_rows(sweep: Path) -> list[dict[str, str]]:
    with (sweep / "summary.csv").open() as f:
        return list(csv.DictReader(f))


def test_cli_names_a_missing_sweep_dir(tmp_path, capsys):
    assert main([str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"auglab: error: sweep dir {tmp_path / 'nope'} does not exist: "
        "pass a folder of logs/multiruns/ (or your hydra.sweep.dir)"
    )


def test_python_m_auglab_report_refuses_a_sweep_without_finished_job(tmp_path):
    (tmp_path / "0").mkdir()  # a job that never finished
    proc = subprocess.run(
        [sys.executable, "-m", "auglab.report", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert f"auglab: error: no job record in {tmp_path} (no */metrics.json)" in proc.stderr
    assert not (tmp_path / "report.md").exists()


@pytest.mark.slow
def test_real_multirun_ends_with_the_report(run_env, tmp_path):
    from wandb.proto.wandb_internal_pb2 import RunRecord

    sweep = tmp_path / "sweep"
    proc = train(
        "-m",
        "data.size=100,200",
        "aug=on,off",
        "seed=0,1",
        "debug=limit",  # at most 2 validation and test batches
        "trainer.max_epochs=1",
        "data.eval_batch_size=250",
        "logger=wandb",
        "callbacks.pictures=null",
        "hydra.sweeper.estimate=false",  # 8 jobs: no pilot (tests/test_estimate.py times one)
        f"hydra.sweep.dir={sweep}",
        env=run_env,
    )
    assert "8 finished jobs of 8 expected" in proc.stdout
    report = (sweep / "report.md").read_text()
    accuracy = table_rows(report.split("## ")[0])
    assert [row[:2] for row in accuracy] == [
        ["off", "100"],
        ["off", "200"],
        ["on", "100"],
        ["on", "200"],
    ]
    assert all(row[5] == "2" for row in accuracy)  # seeds
    assert [row[:2] for row in table_rows(section(report, "Difference to off"))] == [
        ["on", "100"],
        ["on", "200"],
    ]
    assert [row[:2] for row in table_rows(section(report, "Exchange rate"))] == [
        ["on", "100"],
        ["on", "200"],
    ]
    assert [row[4] for row in table_rows(section(report, "Per-class effects"))] == ["2", "2"]
    for job in sorted(sweep.glob("[0-9]")):
        m = record(job)  # strict JSON
        assert m["class_names"] == [str(d) for d in range(10)]
        assert len(m["test_class_acc"]) == 10
        assert all(a is None or 0 <= a <= 1 for a in m["test_class_acc"])
        (run,) = (job / "wandb").glob("offline-run-*/run-*.wandb")
        assert b"lr-Adam" in run.read_bytes()  # the learning-rate monitor logged
    (run,) = (sweep / "report_run" / "wandb").glob("offline-run-*/run-*.wandb")
    assert RunRecord(job_type="report").SerializeToString() in run.read_bytes()
    assert RunRecord(run_group=sweep.name).SerializeToString() in run.read_bytes()
    # The progress figures went to a W&B run of the sweep as the jobs ended (auglab.progress).
    (run,) = (sweep / "progress_run" / "wandb").glob("offline-run-*/run-*.wandb")
    assert RunRecord(job_type="progress").SerializeToString() in run.read_bytes()
    assert b"progress/finished" in run.read_bytes()
    with Image.open(sweep / "report.png") as image:  # accuracy, exchange rate, off's curve
        assert image.size == (2200, 500)


# ---- exchange rate, intervals, paired differences, per-class effects, selection -------------


def sweep_of(sweep: Path, accs: dict[tuple[str, int, int], float], **fields) -> None:
    """One finished job per (aug, size, seed) with that test accuracy, in job order."""
    for num, ((aug, size, seed), acc) in enumerate(accs.items()):
        overrides = [f"data.size={size}", f"aug={aug}", f"seed={seed}"]
        finished_job(sweep, num, overrides, acc, **fields)


def section(report: str, title: str) -> str:
    """The text of one ``## title`` section of report.md."""
    return report.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the markdown table in ``text``, cells stripped."""
    lines = [line for line in text.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_exchange_rate_reads_off_curve_linearly_in_log_size(tmp_path):
    sweep_of(
        tmp_path,
        {
            ("off", 100, 0): 0.70,
            ("off", 1000, 0): 0.90,
            ("off", 10000, 0): 0.95,
            ("on", 100, 0): 0.80,  # half-way from 0.70 to 0.90: sqrt(100 x 1,000) = 316
            ("on", 1000, 0): 0.925,  # half-way from 0.90 to 0.95: 3,162
            ("on", 10000, 0): 0.96,  # better than off at its largest size
            ("light", 100, 0): 0.65,  # worse than off at its smallest
            ("light", 1000, 0): 0.90,  # exactly off's accuracy at 1,000
        },
    )
    rates = {(r.setting, r.train_size): r for r in exchange_rates(cells(records(tmp_path)))}
    assert rates["on", 100].real == pytest.approx(316.2278, rel=1e-6)
    assert rates["on", 1000].ratio == pytest.approx(3.162278, rel=1e-6)
    assert (rates["on", 10000].bound, rates["light", 100].bound) == ("beyond", "below")
    # The report reads the fitted curve instead (tests/test_report_curve.py).
    assert "fitted curve" in section(write_report(tmp_path), "Exchange rate")


def test_a_dip_in_off_is_pooled_before_the_exchange_rate_is_read(tmp_path):
    sweep_of(
        tmp_path,
        {
            ("off", 100, 0): 0.70,
            ("off", 1000, 0): 0.90,
            ("off", 3000, 0): 0.88,  # noise: below 1,000's. Pooled: 0.89 at both sizes
            ("off", 10000, 0): 0.95,
            ("on", 1000, 0): 0.89,  # reached first at 1,000 on the pooled curve
            ("on", 3000, 0): 0.92,  # half-way from 0.89 to 0.95: sqrt(3,000 x 10,000) = 5,477
        },
    )
    table_cells = cells(records(tmp_path))
    assert pooled_sizes(table_cells) == [("off", [1000, 3000])]
    rates = {r.train_size: r for r in exchange_rates(table_cells)}
    assert rates[1000].real == pytest.approx(1000)
    assert rates[3000].real == pytest.approx(5477.2, rel=1e-4)


def test_intervals_and_paired_differences_match_scipys_paired_t_test(tmp_path):
    accs = {
        **{("off", 100, s): a for s, a in enumerate([0.70, 0.72, 0.74])},
        **{("off", 1000, s): a for s, a in enumerate([0.90, 0.92, 0.94])},
        **{("on", 100, s): a for s, a in enumerate([0.80, 0.84, 0.84])},
        **{("on", 1000, s): a for s, a in enumerate([0.91, 0.91, 0.96])},
    }
    sweep_of(tmp_path, accs)
    report = write_report(tmp_path)
    accuracy = table_rows(report.split("## ")[0])
    assert accuracy[0][:4] == ["off", "100", "0.7200 ± 0.0200", "[0.6703, 0.7697]"]
    on = [[accs["on", n, s] for s in range(3)] for n in (100, 1000)]
    off = [[accs["off", n, s] for s in range(3)] for n in (100, 1000)]
    expected = [
        stats.ttest_rel(a, b).confidence_interval(0.95) for a, b in zip(on, off, strict=True)
    ]
    assert [(e.low, e.high) for e in expected] == [
        pytest.approx((0.077982, 0.135351), abs=1e-6),
        pytest.approx((-0.031279, 0.044612), abs=1e-6),
    ]
    assert table_rows(section(report, "Difference to off")) == [
        ["on", "100", "+10.67 *", "[+7.80, +13.54]", "3"],  # excludes 0: marked
        ["on", "1000", "+0.67", "[−3.13, +4.46]", "3"],
    ]


def test_a_single_seed_says_it_has_no_interval(tmp_path):
    sweep_of(tmp_path, {("off", 100, 0): 0.70, ("on", 100, 0): 0.80})
    report = write_report(tmp_path)
    assert [row[3] for row in table_rows(report.split("## ")[0])] == ["1 seed: no interval"] * 2
    assert table_rows(section(report, "Difference to off")) == [
        ["on", "100", "+10.00", "1 pair: no interval", "1"]
    ]


def test_jobs_are_paired_by_seed_at_the_same_size_and_other_overrides(tmp_path):
    # off ran seeds 0-2, on seeds 1-3: only seeds 1 and 2 pair. Each recipe pairs with its own off.
    for num, (aug, seed, acc, optim) in enumerate(
        [
            ("off", 0, 0.10, "adam"),
            ("off", 1, 0.50, "adam"),
            ("off", 2, 0.60, "adam"),
            ("on", 1, 0.60, "adam"),
            ("on", 2, 0.62, "adam"),
            ("on", 3, 0.99, "adam"),
            ("off", 1, 0.30, "sgd"),
            ("on", 1, 0.25, "sgd"),
        ]
    ):
        overrides = ["data.size=100", f"aug={aug}", f"seed={seed}", f"optim={optim}"]
        finished_job(tmp_path, num, overrides, acc)
    compared = {c.cell.setting: c for c in comparisons(cells(records(tmp_path)))}
    # Keyed by draws: (subset seed, seed), no subset seed here.
    assert compared["on, optim=adam"].diffs == {
        (None, 1): pytest.approx(0.10),
        (None, 2): pytest.approx(0.02),
    }
    assert compared["on, optim=sgd"].diffs == {(None, 1): pytest.approx(-0.05)}
    rows = table_rows(section(write_report(tmp_path), "Difference to off"))
    assert [row[0] for row in rows] == ["on, optim=adam", "on, optim=sgd"]
    assert [row[2] for row in rows] == ["+6.00", "−5.00"] and [row[4] for row in rows] == ["2", "1"]


def test_per_class_effects_name_the_classes_an_augmentation_helps_and_hurts_most(tmp_path):
    names = [str(d) for d in range(10)]
    for num, (aug, seed) in enumerate([("off", 0), ("off", 1), ("rotate", 0), ("rotate", 1)]):
        per_class = [0.9] * 10
        if aug == "rotate":  # rotation confuses 6 and 9, and helps 1; class 4 absent from test
            per_class[6] -= 0.021 + 0.001 * (1 if seed else -1)
            per_class[9] -= 0.015
            per_class[1] += 0.03
            per_class[4] = None
        overrides = ["data.size=100", f"aug={aug}", f"seed={seed}"]
        finished_job(tmp_path, num, overrides, 0.9, test_class_acc=per_class, class_names=names)
    text = section(write_report(tmp_path), "Per-class effects")
    assert table_rows(text) == [["rotate", "100", "6: −2.1 pts, 9: −1.5 pts", "1: +3.0 pts", "2"]]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["left", "right"], ["right: −10.0 pts", "left: +20.0 pts"]),
        (None, ["1: −10.0 pts", "0: +20.0 pts"]),  # no names recorded: class indices
    ],
)
def test_per_class_effects_use_the_recorded_class_names(tmp_path, names, expected):
    for num, (aug, per_class) in enumerate([("off", [0.5, 0.5]), ("on", [0.7, 0.4])]):
        finished_job(
            tmp_path, num, ["data.size=100", f"aug={aug}"], 0.5, test_class_acc=per_class,
            class_names=None if num else names,  # names from off's record serve on's row too
        )  # fmt: skip
    text = section(write_report(tmp_path), "Per-class effects")
    assert table_rows(text) == [["on", "100", *expected, "1"]]


def test_records_from_before_per_class_accuracy_say_it_was_not_recorded(tmp_path):
    grid_sweep(tmp_path)
    report = write_report(tmp_path)
    assert "Per-class test accuracy not recorded" in section(report, "Per-class effects")
    assert "## Exchange rate" in report and "## Difference to off" in report


def test_a_sweep_without_off_says_there_is_nothing_to_compare_with(tmp_path):
    sweep_of(tmp_path, {("on", 100, 0): 0.8, ("light", 100, 0): 0.7})
    report = write_report(tmp_path)
    assert "No `off` job at any size" in section(report, "Difference to off")
    assert "No `off` jobs: no curve" in section(report, "Exchange rate")
    assert "No paired `off` jobs" in section(report, "Per-class effects")


def lr_sweep(sweep: Path) -> None:
    """aug off/on x seed 0/1 x optim.lr 1e-3/1e-2 at 100 images; (val, test) per job.

    off: lr=1e-3 wins on validation in both seeds although lr=1e-2 tests higher;
    on: seed 0 picks lr=1e-2, seed 1 lr=1e-3.
    """
    results = {
        ("off", 0, "1e-3"): (0.80, 0.70),
        ("off", 0, "1e-2"): (0.70, 0.95),
        ("off", 1, "1e-3"): (0.81, 0.72),
        ("off", 1, "1e-2"): (0.71, 0.96),
        ("on", 0, "1e-3"): (0.80, 0.99),
        ("on", 0, "1e-2"): (0.85, 0.82),
        ("on", 1, "1e-3"): (0.86, 0.81),
        ("on", 1, "1e-2"): (0.84, 0.99),
    }
    jobs = {}
    for num, ((aug, seed, lr), (val, test)) in enumerate(results.items()):
        jobs[num] = ["data.size=100", f"aug={aug}", f"seed={seed}", f"optim.lr={lr}"]
        finished_job(sweep, num, jobs[num], test, val_acc_best=val)
    plan(sweep, jobs)


def test_select_tunes_other_swept_keys_per_setting_size_and_seed_on_validation(tmp_path):
    lr_sweep(tmp_path)
    tuned = {c.setting: c for c in cells(records(tmp_path), select="val/acc_best")}
    assert list(tuned) == ["off", "on"]
    assert tuned["off"].accs == (0.70, 0.72)  # the test set never chooses
    assert tuned["off"].chosen == ("optim.lr=1e-3", "optim.lr=1e-3")
    assert tuned["on"].accs == (0.82, 0.81)
    report = write_report(tmp_path, select="val/acc_best")
    assert "Tuned: each setting at its own `optim.lr`, chosen per size and seed" in report
    accuracy = report.split("## ")[0]
    assert "| chosen " in accuracy
    assert [(row[0], row[2], row[-1]) for row in table_rows(accuracy)] == [
        ("off", "0.7100 ± 0.0141", "optim.lr=1e-3"),
        ("on", "**0.8150 ± 0.0071**", "optim.lr=1e-2 ×1, optim.lr=1e-3 ×1"),
    ]
    # Paired by seed, each setting at its own choice: 0.82 - 0.70 and 0.81 - 0.72.
    assert table_rows(section(report, "Difference to off"))[0][2] == "+10.50"
    # Without selection every learning rate is a setting of its own.
    untuned = {c.setting for c in cells(records(tmp_path))}
    assert untuned == {
        "off, optim.lr=1e-3",
        "off, optim.lr=1e-2",
        "on, optim.lr=1e-3",
        "on, optim.lr=1e-2",
    }


def test_select_tunes_each_presets_strength_and_off_runs_once(tmp_path):
    # As `aug=off,on aug.strength=1,0.5,2 seed=0,1` plans it: off once per seed.
    results = {
        ("off", "1", 0): (0.80, 0.70),
        ("on", "1", 0): (0.84, 0.90),
        ("on", "0.5", 0): (0.86, 0.85),
        ("on", "2", 0): (0.82, 0.95),
        ("off", "1", 1): (0.81, 0.72),
        ("on", "1", 1): (0.88, 0.89),
        ("on", "0.5", 1): (0.85, 0.91),
        ("on", "2", 1): (0.83, 0.93),
    }
    jobs = {}
    for num, ((aug, strength, seed), (val, test)) in enumerate(results.items()):
        jobs[num] = ["data.size=100", f"aug={aug}", f"aug.strength={strength}", f"seed={seed}"]
        fields = {"val_acc_best": val, "aug_strength": float(strength)}
        finished_job(tmp_path, num, jobs[num], test, **fields)
    plan(tmp_path, jobs)
    tuned = {c.setting: c for c in cells(records(tmp_path), select="val/acc_best")}
    assert list(tuned) == ["off", "on"]
    assert tuned["on"].accs == (0.85, 0.89)  # strength 0.5 for seed 0, 1 for seed 1
    assert tuned["on"].chosen == ("aug.strength=0.5", "aug.strength=1")
    assert tuned["off"].accs == (0.70, 0.72) and tuned["off"].chosen == ("defaults",) * 2
    report = write_report(tmp_path, select="val/acc_best")
    assert "Tuned: each setting at its own `aug.strength`" in report
    # Without selection each strength is a setting of its own, on the plot.
    assert {c.setting for c in cells(records(tmp_path))} == {"off", "on", "on x0.5", "on x2"}


@pytest.mark.slow
def test_cli_select_and_the_sweeps_own_selection(tmp_path, capsys):
    lr_sweep(tmp_path)
    assert main([str(tmp_path), "--select", "val/acc_best"]) == 0
    assert "optim.lr=1e-2 ×1, optim.lr=1e-3 ×1" in capsys.readouterr().out
    # A sweep configured with hydra.callbacks.sweep_summary.select is rebuilt the same way...
    config = {"hydra": {"callbacks": {"sweep_summary": {"select": "val/acc_best"}}}}
    (tmp_path / "multirun.yaml").write_text(yaml.safe_dump(config))
    assert main([str(tmp_path)]) == 0
    assert "Tuned: each setting" in capsys.readouterr().out
    # ...unless told otherwise.
    assert main([str(tmp_path), "--select", "none"]) == 0
    assert "Tuned" not in capsys.readouterr().out


def test_select_refuses_the_test_set_and_unknown_metrics(tmp_path, capsys):
    lr_sweep(tmp_path)
    assert main([str(tmp_path), "--select", "test/acc"]) == 2
    assert capsys.readouterr().err.strip() == (
        "auglab: error: select='test/acc' would choose on the test set: use val/acc_best, "
        "so the test accuracy of each choice stays unbiased"
    )
    with pytest.raises(ConfigError, match="not a recorded metric"):
        cells(records(tmp_path), select="val/f1")


# ---- resampled training subsets: data.subset_seed ------------------------------------------

SUBSETS = {0: 0.02, 1: 0.0, 2: -0.02}  # a_subset: variance 4e-4, sd 2.00 pts
SEEDS = {0: 0.01, 1: -0.01}  # b_seed: variance 2e-4, sd 1.41 pts


def subset_sweep(sweep: Path, accs: dict[tuple[str, int | None, int], float]) -> None:
    """One finished job per (aug, subset seed, seed) at 100 images, with a plan."""
    jobs = {}
    for num, ((aug, subset, seed), acc) in enumerate(accs.items()):
        jobs[num] = ["data.size=100", f"aug={aug}", f"data.subset_seed={subset}", f"seed={seed}"]
        finished_job(sweep, num, jobs[num], acc)
    plan(sweep, jobs)


def additive(aug: str, gain: float = 0.0, skip: tuple = ()) -> dict:
    """accuracy = 0.8 + gain + a_subset + b_seed exactly, over 3 subsets x 2 seeds."""
    return {
        (aug, sub, seed): 0.8 + gain + a + b
        for sub, a in SUBSETS.items()
        for seed, b in SEEDS.items()
        if (sub, seed) not in skip
    }


def test_settings_are_paired_by_subset_seed_and_seed_with_an_interval_over_all_pairs(tmp_path):
    # on gains 5 points plus a pair-specific wobble; it lacks (2, 1); off has an extra subset.
    wobble = {(0, 0): 0.01, (0, 1): -0.01, (1, 0): 0.02, (1, 1): 0.0, (2, 0): -0.005}
    on = {k: v + wobble[k[1:]] for k, v in additive("on", 0.05, skip=((2, 1),)).items()}
    subset_sweep(tmp_path, {**additive("off"), ("off", 9, 0): 0.5, **on})
    table_cells = cells(records(tmp_path))
    assert [(c.setting, len(c.jobs), len(c.subset_seeds)) for c in table_cells] == [
        ("off", 7, 4),
        ("on", 5, 3),
    ]  # data.subset_seed places a job, it names no setting
    (comp,) = comparisons(table_cells)
    assert comp.diffs == {k: pytest.approx(0.05 + w) for k, w in wobble.items()}
    # Pairs on one subset share its images: averaged per subset, then t over 3 subsets.
    per_subset = [
        statistics.fmean(0.05 + w for (sub, _), w in wobble.items() if sub == s) for s in SUBSETS
    ]
    expected = t_interval(per_subset)
    report = write_report(tmp_path)
    mean, low, high = (100 * v for v in (expected.mean, expected.low, expected.high))
    assert table_rows(section(report, "Difference to off")) == [
        ["on", "100", f"+{mean:.2f} *", f"[+{low:.2f}, +{high:.2f}]", "5"]
    ]
    assert "(subset seed, seed) pairs both ran" in report
    assert "averaged per subset (over its seeds)" in report


def test_the_same_seed_on_other_subsets_is_never_paired(tmp_path):
    subset_sweep(tmp_path, {("off", 0, 0): 0.8, ("off", 1, 0): 0.7, ("on", 2, 0): 0.9})
    (comp,) = comparisons(cells(records(tmp_path)))
    assert comp.diffs == {}
    rows = table_rows(section(write_report(tmp_path), "Difference to off"))
    assert rows == [["on", "100", "no (subset seed, seed) in common", "", "0"]]


def test_the_report_splits_each_cells_spread_into_subset_seed_and_residual(tmp_path):
    subset_sweep(tmp_path, {**additive("off"), **additive("on", 0.05)})
    report = make_report(tmp_path)
    plain = {row["setting"]: row for row in report.tables["variance"]}
    for row in plain.values():
        assert (row["train_size"], row["subsets"], row["seeds"]) == (100, 3, 2)
        assert row["subset_var"] == pytest.approx(statistics.variance(SUBSETS.values()))
        assert row["seed_var"] == pytest.approx(statistics.variance(SEEDS.values()))
        assert row["residual_var"] == pytest.approx(0, abs=1e-12)
        assert (row["subset_share"], row["seed_share"]) == pytest.approx((2 / 3, 1 / 3))
    assert math.sqrt(plain["off"]["seed_var"]) == pytest.approx(0.01414, abs=1e-5)
    assert table_rows(section(report.text, "Subset or seed")) == [
        ["off", "100", "3 x 2", "2.00 (67%)", "1.41 (33%)", "0.00 (0%)"],
        ["on", "100", "3 x 2", "2.00 (67%)", "1.41 (33%)", "0.00 (0%)"],
    ]
    accuracy = report.text.split("## ")[0]
    assert "training subsets (`data.subset_seed`) and seeds" in accuracy
    assert [(row[0], row[-2], row[-1]) for row in table_rows(accuracy)] == [
        ("off", "2", "3"),  # seeds, subsets
        ("on", "2", "3"),
    ]


def test_a_subset_grid_too_small_to_split_says_so(tmp_path):
    subset_sweep(tmp_path, {("off", 0, 0): 0.8, ("off", 1, 0): 0.7})  # one seed
    report = make_report(tmp_path)
    assert "cannot be split" in section(report.text, "Subset or seed")
    assert report.tables["variance"] == []


def test_without_varied_subsets_the_report_is_as_before(tmp_path):
    subset_sweep(tmp_path, {("off", 5, 0): 0.8, ("off", 5, 1): 0.7, ("on", 5, 0): 0.9})
    report = make_report(tmp_path)
    assert "Subset or seed" not in report.text and "variance" not in report.tables
    assert "subsets" not in report.tables["accuracy"][0]
    assert "over the seeds both ran" in report.text


def test_the_records_are_analysed_once_and_every_output_renders_that_result(tmp_path, monkeypatch):
    grid_sweep(tmp_path, classes=["zero", "one", "two"])
    calls = []
    rates = analysis.fitted_exchange

    def counted(table_cells):
        calls.append(len(table_cells))
        return rates(table_cells)

    monkeypatch.setattr(analysis, "fitted_exchange", counted)
    report = make_report(tmp_path)
    assert calls == [4]  # one build, no shift results: the exchange rates once
    result = report.result
    assert [r.setting for r in result.compared.exchange.rates] == ["on", "on"]
    # The text and the tables are functions of the result alone.
    assert report_markdown(result) == report.text
    assert report_tables(result) == report.tables
    (on_100,) = [d for d in result.compared.differences if d.train_size == 100]
    # Per class, on minus off: +12, +10 and +5 points, ranked once, in the result.
    assert on_100.classes.hurt == ()
    assert [name for name, _ in on_100.classes.helped] == ["two", "zero", "one"]
    assert [d for _, d in on_100.classes.helped] == pytest.approx([0.12, 0.10, 0.05])
