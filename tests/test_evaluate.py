"""``python -m auglab.evaluate``: finished jobs tested again on the corruption suite and on
other test sets, their records added to and never otherwise changed; the end-of-job suite.

One real run (module fixture) asks for a two-corruption suite at its end; every other test
evaluates copies of its dir in this process."""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from auglab.errors import ConfigError
from auglab.evaluate import Pick, find_jobs, main
from auglab.lock import LOCK_FILE, JobLock
from auglab.plan import PlanEntry, SweepPlan, write_plan
from auglab.record import read_record, write_record
from tests.helpers import N_TEST, QUICK, make_digits, record, train, write_job

pytestmark = pytest.mark.xdist_group("evaluate")

#: A suite of its own (conf dir added by hydra.searchpath): two cheap corruptions.
TINY = "name: tiny\nseed: 3\ncorruptions:\n  rotate: 2\n  stripe: null\n"


@pytest.fixture(scope="module")
def trained(mnist_root, tmp_path_factory) -> Path:
    """A finished 1-epoch run that ran the tiny suite at its end (``shift=tiny``)."""
    root = tmp_path_factory.mktemp("evaluate")
    (root / "conf" / "shift").mkdir(parents=True)
    (root / "conf" / "shift" / "tiny.yaml").write_text(TINY)
    env = dict(os.environ, AUGLAB_DATA_DIR=str(mnist_root), WANDB_MODE="offline")
    env.update(HYDRA_FULL_ERROR="0", PYTHONWARNINGS="ignore")
    run = root / "run"
    train(
        *QUICK,
        "data.size=100",
        "trainer.max_epochs=1",
        "shift=tiny",
        f"hydra.searchpath=[file://{root / 'conf'}]",
        f"hydra.run.dir={run}",
        env=env,
    )
    return run


def copy_job(trained: Path, to: Path, job_num: int | None = None) -> Path:
    """The trained dir as a fresh job: its record without shift results."""
    shutil.copytree(trained, to)
    rec = read_record(to)
    write_record(replace(rec, shift=None, job_num=job_num), to)
    return to


def lines(capsys) -> tuple[list[str], list[str]]:
    out = capsys.readouterr()
    return out.out.splitlines(), out.err.splitlines()


@pytest.mark.slow
def test_a_job_that_asks_for_the_suite_records_it_at_its_end(trained):
    rec = record(trained)  # strict JSON
    shift = rec["shift"]
    assert (shift["suite"], shift["seed"], shift["corruptions"]) == (
        "tiny",
        3,
        ["rotate", "stripe"],
    )
    assert shift["severity"] == {"rotate": 2, "stripe": 1}  # null: MNIST-C's own level
    assert shift["source"] == "generated" and set(shift["sources"].values()) == {"generated"}
    assert shift["clean_acc"] == rec["test_acc"] and shift["images"] == N_TEST
    assert shift["mean_acc"] == pytest.approx(sum(shift["acc"].values()) / 2)
    assert shift["checkpoint"] == rec["tested_checkpoint"] == rec["best_checkpoint"]


@pytest.mark.slow
def test_evaluate_reproduces_test_acc_and_adds_only_shift(trained, tmp_path, capsys):
    job = copy_job(trained, tmp_path / "run")
    before = record(job)
    assert main([str(job)]) == 0
    after = record(job)
    (line,), err = lines(capsys)
    assert err == [] and line.startswith(f"run: test acc {before['test_acc']:.4f} (as recorded);")
    assert before["shift"] is None and after["shift"] is not None
    assert {**after, "shift": None} == before  # the training results untouched
    # The job's own suite, through the job's test loop: the end-of-job numbers exactly.
    assert after["shift"] == record(trained)["shift"]
    assert after["shift"]["clean_acc"] == before["test_acc"]
    text = (job / "metrics.json").read_text()
    assert main([str(job)]) == 0  # again: nothing to do
    assert lines(capsys)[0] == ["run: already evaluated: skipped (--force evaluates again)"]
    assert (job / "metrics.json").read_text() == text
    assert main([str(job), "--corruptions", "stripe", "--seed", "5"]) == 0  # another suite
    assert record(job)["shift"]["corruptions"] == ["stripe"]
    assert record(job)["shift"]["acc"]["stripe"] == after["shift"]["acc"]["stripe"]  # no draws


@pytest.mark.slow
def test_a_sweep_dir_evaluates_every_finished_job(trained, tmp_path, capsys):
    sweep = tmp_path / "sweep"
    for num in (0, 1):
        copy_job(trained, sweep / str(num), job_num=num)
    fp = read_record(trained).fingerprint
    write_job(sweep, 2, ["data.size=100"], None, status="failed", fingerprint="other")
    entries = [PlanEntry(n, ("data.size=100", f"seed={n}"), fp) for n in (0, 1)]
    write_plan(sweep, SweepPlan((0, 1, 2), (*entries, PlanEntry(2, ("data.size=100",), "other"))))
    assert main([str(sweep), "--corruptions", "stripe,rotate"]) == 0
    out, err = lines(capsys)
    assert err == [] and out[0] == "job 2: failed: skipped"
    assert [line.split(":")[0] for line in out[1:]] == ["job 0", "job 1"]
    shifts = [record(sweep / str(n))["shift"] for n in (0, 1)]
    assert shifts[0]["corruptions"] == ["stripe", "rotate"] and shifts[0] == shifts[1]
    assert read_record(sweep / "2").shift is None


@pytest.mark.slow
def test_another_test_set_of_the_same_shape_and_a_mismatch(trained, tmp_path, mnist_root, capsys):
    job = copy_job(trained, tmp_path / "run")
    label = f"mnist data.data_dir={mnist_root}"
    assert main([str(job), "--no-shift", "--dataset", "mnist", f"data.data_dir={mnist_root}"]) == 0
    rec = record(job)
    assert rec["shift"] is None
    assert rec["other_tests"][label]["acc"] == rec["test_acc"]  # the same images, padded alike
    assert rec["other_tests"][label]["images"] == N_TEST
    lines(capsys)
    assert main([str(job), "--no-shift", "--dataset", "mnist", "data.pad_to=null"]) == 1
    out, err = lines(capsys)
    assert out == [] and len(err) == 2 and "Traceback" not in "".join(err)
    assert err[0] == (
        "run: error: mnist data.pad_to=null: its test images are 1x28x28 in 10 classes, the "
        "job's 1x32x32 in 10: give a test set of the job's shape (data.pad_to, data.image_size)"
    )
    assert list(record(job)["other_tests"]) == [label]


@pytest.mark.slow
def test_mnist_c_files_are_used_as_they_are_and_padded_like_the_test_set(
    trained, tmp_path, mnist_root, capsys
):
    data = tmp_path / "data"
    data.mkdir()
    (data / "MNIST").symlink_to(mnist_root / "MNIST")
    folder = data / "mnist_c" / "rotate"
    folder.mkdir(parents=True)
    images, labels = make_digits(N_TEST, seed=1)  # the fixture's test set, uncorrupted
    np.save(folder / "test_images.npy", images[..., None])
    np.save(folder / "test_labels.npy", labels.astype(np.uint8))
    job = copy_job(trained, tmp_path / "run")
    assert main([str(job), "--data-dir", str(data)]) == 0
    shift = record(job)["shift"]
    assert shift["sources"] == {"rotate": "mnist_c files", "stripe": "generated"}
    assert shift["source"] == "mixed" and "mixed" in lines(capsys)[0][0]
    assert shift["acc"]["rotate"] == shift["clean_acc"]  # the files' images, padded to 32x32
    assert shift["acc"]["stripe"] == record(trained)["shift"]["acc"]["stripe"]


def test_mistakes_are_one_line(trained, tmp_path, capsys):
    assert main([str(tmp_path / "nowhere")]) == 2
    assert lines(capsys)[1] == [
        f"auglab: error: {tmp_path / 'nowhere'} does not exist: pass a run dir or a sweep dir"
    ]
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty")]) == 2
    assert "holds no job" in lines(capsys)[1][0]
    write_job(tmp_path / "sweep", 0, ["data.size=100"], None, status="failed")
    assert main([str(tmp_path / "sweep")]) == 2
    out, err = lines(capsys)
    assert out == ["job 0: failed: skipped"]
    assert err == [f"auglab: error: no finished job to evaluate in {tmp_path / 'sweep'} (1 failed)"]
    job = copy_job(trained, tmp_path / "run")
    with JobLock(job / LOCK_FILE, "test").held():
        assert main([str(job)]) == 2
        assert lines(capsys)[0][0].startswith("run: being trained by ")
    for ckpt in (job / "checkpoints").glob("best-*.ckpt"):
        ckpt.unlink()
    assert main([str(job)]) == 1
    out, err = lines(capsys)
    assert err[0].startswith("run: error: missing checkpoint ") and "tested checkpoint" in err[0]
    assert read_record(job).shift is None


def test_a_study_of_several_sweeps_evaluates_the_settings_it_picks(tmp_path, capsys):
    sweep = tmp_path / "study"
    first = [["data.size=100", "aug=off"], ["data.size=100", "aug=elastic"]]
    later = [["data.size=1000", "aug=elastic", "reg=dropout"], ["data.size=1000", "aug=off"]]
    for num, overrides in enumerate(first + later):
        write_job(sweep, num, overrides, 0.9, fingerprint=f"fp{num}")
    entries = [PlanEntry(n, tuple(o), f"fp{n}") for n, o in enumerate(first + later)]
    write_plan(sweep, SweepPlan((2, 3), tuple(entries)))  # the latest sweep: jobs 2 and 3

    def names(pick=None):
        return [job.name for job in find_jobs(sweep, pick)]

    assert names() == ["job 2", "job 3"]
    assert names(Pick(whole_plan=True)) == ["job 0", "job 1", "job 2", "job 3"]
    assert names(Pick(True, (("aug", ("elastic",)),))) == ["job 1", "job 2"]
    both = (("aug", ("elastic", "off")), ("data.size", ("1000",)))
    assert names(Pick(True, both)) == ["job 2", "job 3"]
    assert names(Pick(True, (("reg", ("dropout",)),))) == ["job 2"]  # unset keys never match
    with pytest.raises(ConfigError, match=r"no job of .* matches --where aug=rand"):
        find_jobs(sweep, Pick(True, (("aug", ("rand",)),)))
    with pytest.raises(SystemExit):
        main([str(sweep), "--where", "aug"])
    assert "--where aug: write KEY=V1,V2" in capsys.readouterr().err


def test_a_bad_suite_stops_a_job_before_it_trains():
    from auglab.job import _check_config

    cfg = OmegaConf.create(
        {"optimized_metric": "val/acc_best", "trainer": {"max_epochs": 1}, "shift": {}}
    )
    _check_config(cfg)  # an empty shift config: mnist_c's 15 corruptions
    cfg.shift = {"corruptions": {"fog": 9}}
    with pytest.raises(ConfigError, match="fog severity=9 must be 1-5"):
        _check_config(cfg)


def test_records_with_non_finite_results_stay_strict_json(tmp_path):
    write_job(
        tmp_path, 0, ["data.size=100"], 0.5, shift={"acc": {"fog": math.nan}, "mean_acc": math.inf}
    )
    assert record(tmp_path / "0")["shift"] == {"acc": {"fog": None}, "mean_acc": None}
    assert json.loads((tmp_path / "0" / "metrics.json").read_text())["other_tests"] is None
