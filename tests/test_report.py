"""The sweep report: accuracy by size and setting over seeds, missing jobs, the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from PIL import Image

from auglab.record import JobRecord, sweep_records, write_record
from auglab.report import cells, expected_jobs, main, setting_label, write_report
from tests.helpers import REPO, train, write_job


def finished_job(sweep: Path, num: int, overrides: list[str], acc: float, **fields) -> Path:
    write_job(sweep, num, overrides, acc, **fields)
    return sweep / str(num)


def records(sweep: Path) -> list[JobRecord]:
    return [record for _, record in sweep_records(sweep)]


def parse(overrides: list[str]) -> list[tuple[str, str]]:
    return [tuple(o.split("=", 1)) for o in overrides]


def sweep_config(sweep: Path, task: list[str], params: dict | None = None) -> None:
    """The part of Hydra's multirun.yaml the report reads."""
    config = {"hydra": {"sweeper": {"params": params}, "overrides": {"task": task}}}
    (sweep / "multirun.yaml").write_text(yaml.safe_dump(config))


def grid_sweep(sweep: Path) -> None:
    """2 sizes x 2 settings x 2 seeds; accuracy = base by size and setting, +-0.01 by seed."""
    base = {("100", "off"): 0.70, ("100", "on"): 0.80, ("1000", "off"): 0.90, ("1000", "on"): 0.95}
    sweep_config(sweep, ["data.size=100,1000", "aug=off,on", "seed=0,1"])
    num = 0
    for size in ("100", "1000"):
        for aug in ("off", "on"):
            for seed, delta in (("0", -0.01), ("1", 0.01)):
                overrides = [f"data.size={size}", f"aug={aug}", f"seed={seed}"]
                finished_job(sweep, num, overrides, base[size, aug] + delta)
                num += 1


def test_a_size_by_aug_by_seed_sweep_gives_one_line_per_setting_with_std(tmp_path):
    grid_sweep(tmp_path)
    report = write_report(tmp_path)
    assert "8 finished jobs of 8 expected" in report
    rows = [line for line in report.splitlines() if line.startswith("| o")]
    assert rows == [
        "| off       | 100          | 0.7000 ± 0.0141 | 0.3000      | 2       |",
        "| off       | 1000         | 0.9000 ± 0.0141 | 0.1000      | 2       |",
        "| on        | 100          | 0.8000 ± 0.0141 | 0.2000      | 2       |",
        "| on        | 1000         | 0.9500 ± 0.0141 | 0.0500      | 2       |",
    ]
    assert "Missing" not in report
    assert (tmp_path / "report.md").read_text() == report
    with Image.open(tmp_path / "report.png") as image:
        assert (image.format, image.size) == ("PNG", (800, 500))
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


def test_sweep_params_and_command_line_expand_in_hydra_job_order(tmp_path):
    sweep_config(tmp_path, ["data.size=100,1e4", "trainer.max_epochs=1"], params={"aug": "on,off"})
    assert expected_jobs(tmp_path) == [
        ("aug=on", "data.size=100", "trainer.max_epochs=1"),
        ("aug=on", "data.size=10000.0", "trainer.max_epochs=1"),
        ("aug=off", "data.size=100", "trainer.max_epochs=1"),
        ("aug=off", "data.size=10000.0", "trainer.max_epochs=1"),
    ]


def test_report_of_an_interrupted_sweep_lists_what_is_missing(tmp_path, capsys):
    sweep_config(tmp_path, ["data.size=100,1000", "aug=off,on", "trainer.max_epochs=2"])
    for num, (size, aug) in enumerate([("100", "off"), ("100", "on"), ("1000", "off")]):
        finished_job(
            tmp_path, num, [f"data.size={size}", f"aug={aug}", "trainer.max_epochs=2"], 0.8
        )
    assert main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3 finished jobs of 4 expected" in out
    assert "- job 3: `data.size=1000 aug=on trainer.max_epochs=2` (not started)" in out
    assert (tmp_path / "report.png").exists() and (tmp_path / "summary.csv").exists()

    # The last job started, then its process died: its record still says "running".
    (tmp_path / "3").mkdir()
    overrides = ["data.size=1000", "aug=on", "trainer.max_epochs=2"]
    write_record(JobRecord(status="running", job_num=3, overrides=overrides), tmp_path / "3")
    report = write_report(tmp_path)
    assert (
        "- job 3: `data.size=1000 aug=on trainer.max_epochs=2` (started, not finished: running, or its process died)"
        in report
    )


def test_without_multirun_yaml_the_report_says_expected_jobs_are_unknown(tmp_path):
    finished_job(tmp_path, 0, ["data.size=100"], 0.7)
    report = write_report(tmp_path)
    assert "1 finished jobs." in report and "Expected jobs unknown" in report


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


def test_real_multirun_ends_with_the_report(run_env, tmp_path):
    sweep = tmp_path / "sweep"
    proc = train(
        "-m",
        "data.size=100,200",
        "aug=on,off",
        "seed=0,1",
        "debug=limit",  # at most 2 validation and test batches
        "trainer.max_epochs=1",
        "data.eval_batch_size=250",
        "logger=none",
        "callbacks=none",  # no checkpoints or pictures: 8 jobs in seconds
        f"hydra.sweep.dir={sweep}",
        env=run_env,
    )
    assert "8 finished jobs of 8 expected" in proc.stdout
    report = (sweep / "report.md").read_text()
    assert [line.split("|")[1:3] for line in report.splitlines() if line.startswith("| o")] == [
        [" off       ", " 100          "],
        [" off       ", " 200          "],
        [" on        ", " 100          "],
        [" on        ", " 200          "],
    ]
    assert all(
        line.rstrip().endswith("| 2       |")
        for line in report.splitlines()
        if line.startswith("| o")
    )
    with Image.open(sweep / "report.png") as image:
        assert image.size == (800, 500)
