"""The sweep's time before launch: what multiplies the grid, the pilot's measured costs,
and the line that puts them together."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from auglab.errors import ConfigError
from auglab.estimate import (
    AUTO_MIN_JOBS,
    check_estimate,
    duration,
    plan_estimate,
    shrink_hint,
    swept_values,
)
from auglab.pilot import Costs, measure
from tests.helpers import REPO

COMBOS = [
    [f"data.size={s}", f"aug={a}", f"data.subset_seed={k}", "trainer.max_epochs=5"]
    for s in ("0.05", "0.2", "all")
    for a in ("off", "light")
    for k in (0, 1)
]


def test_swept_values_counts_the_keys_that_multiply_the_grid():
    assert swept_values(COMBOS) == {"data.size": 3, "aug": 2, "data.subset_seed": 2}


def test_shrink_hint_names_each_swept_key_and_the_epochs():
    assert shrink_hint(swept_values(COMBOS), 5) == (
        "shrink with fewer values of data.size (3), aug (2) or data.subset_seed (2), "
        "or a lower trainer.max_epochs (5)"
    )
    assert shrink_hint({}, 30) == "shrink with a lower trainer.max_epochs (30)"


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0.2, "1 s"),
        (40, "40 s"),
        (89, "89 s"),
        (90, "2 min"),
        (725, "12 min"),
        (4830, "1 h 20 min"),
    ],
)
def test_duration_reads_as_a_person_says_it(seconds, said):
    assert duration(seconds) == said


@pytest.mark.parametrize(("value", "mode"), [("auto", "auto"), (True, True), ("false", False)])
def test_check_estimate_takes_auto_true_false(value, mode):
    assert check_estimate(value) == mode


def test_check_estimate_refuses_anything_else_in_one_line():
    with pytest.raises(ConfigError, match=r"^hydra.sweeper.estimate='often' is unknown: use auto"):
        check_estimate("often")


def test_no_pilot_when_off_when_nothing_runs_or_a_small_sweep_under_auto():
    one = [OmegaConf.create({"trainer": {"max_epochs": 1}})]
    assert plan_estimate(False, one * 20, 2, 1, {}) == ""
    assert plan_estimate(True, [], 2, 1, {}) == ""
    assert plan_estimate("auto", one * (AUTO_MIN_JOBS - 1), 2, 1, {}) == ""


def test_a_cluster_sweep_is_not_timed_here_but_says_how_to_shrink():
    cfg = OmegaConf.create({"trainer": {"max_epochs": 7}})
    tail = plan_estimate(True, [cfg], 1, 1, {"aug": 4}, cluster=True)
    assert tail == (
        "; they run on the cluster's nodes, not timed here; "
        "shrink with fewer values of aug (4), or a lower trainer.max_epochs (7)"
    )


def test_a_pilot_that_cannot_build_the_job_says_why_and_the_sweep_goes_on():
    broken = OmegaConf.create({"data": {"_target_": "no.such.Module"}, "trainer": {}})
    tail = plan_estimate(True, [broken], 1, 1, {})
    assert tail.startswith("; time not estimated (the pilot of the first job failed: ")


def test_job_seconds_scale_with_images_epochs_and_fractions_of_the_pool():
    costs = Costs(
        train_image_s=0.001,
        eval_image_s=0.0001,
        start_s=5.0,
        pool_size=10_000,
        val_images=1_000,
        test_images=2_000,
        seconds=3.0,
    )

    def job(**data):
        return OmegaConf.create({"data": data, "trainer": {"max_epochs": 10}})

    # 5 s to start, 10 epochs of 1,000 images at 1 ms, 10 x 1,000 + 2,000 evaluated at 0.1 ms
    assert costs.job_seconds(job(size=1000)) == pytest.approx(5 + 10 + 1.2)
    assert costs.job_seconds(job(size=0.1)) == pytest.approx(5 + 10 + 1.2)
    assert costs.job_seconds(job(size="all")) == pytest.approx(5 + 100 + 1.2)
    assert costs.job_seconds(job(size=None)) == pytest.approx(5 + 100 + 1.2)
    assert costs.job_seconds(job(size=100, samples_per_epoch=2000)) == pytest.approx(5 + 20 + 1.2)


@pytest.mark.slow  # builds MNIST and trains for ~3 s
def test_the_pilot_measures_the_first_job_of_the_study(mnist_root, tmp_path, monkeypatch):
    monkeypatch.setenv("AUGLAB_DATA_DIR", str(mnist_root))
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=["experiment=study", "data.size=0.01", f"paths.output_dir={tmp_path}"],
        )
    costs = measure(cfg, threads=1, import_s=0.5)
    assert costs.pool_size == 55_000 and costs.val_images == 5_000
    assert costs.test_images == 1_000
    assert 0 < costs.eval_image_s < costs.train_image_s < 0.05
    assert costs.start_s > 0.5 and costs.seconds > costs.start_s
    # one pass an epoch: more images cost more
    small, large = (
        OmegaConf.merge(cfg, {"data": {"size": s, "samples_per_epoch": None}})
        for s in (0.01, "all")
    )
    assert costs.job_seconds(large) > costs.job_seconds(small) > costs.start_s
    # the study's equal steps (data.samples_per_epoch): every size draws as many images
    small, large = (OmegaConf.merge(cfg, {"data": {"size": s}}) for s in (0.01, "all"))
    assert costs.job_seconds(large) == costs.job_seconds(small) > costs.start_s
    assert not Path(tmp_path, "synthetic_550.npz").exists()  # the pilot writes nothing
