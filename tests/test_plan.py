"""The sweep plan: fingerprints that ignore what cannot change a result, numbers that a
changed config never inherits, job dirs from before plans taken in."""

from __future__ import annotations

import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf, open_dict

from auglab.plan import (
    PlanEntry,
    Planned,
    SweepPlan,
    differences,
    extend_plan,
    fingerprint,
    read_plan,
    same_jobs,
    unscaled_preset,
    write_plan,
)
from tests.helpers import REPO

BASE = {
    "seed": 42,
    "optim": {"lr": 0.001, "_partial_": True},
    "data": {"size": 100, "path": "${data_dir}/x"},
    "threads": None,
    "logger": {"wandb": {"project": "auglab"}},
    "paths": {"log_dir": "/a"},
    "hydra": {"run": {"dir": "/b"}},
}


def cfg(**changes):
    conf = OmegaConf.create(BASE)
    for key, value in changes.items():
        OmegaConf.update(conf, key, value, merge=False)
    return conf


def test_the_fingerprint_ignores_threads_loggers_paths_and_hydra():
    same = cfg(threads=4, **{"logger.wandb": None, "paths.log_dir": "/c", "hydra.run.dir": "/d"})
    assert fingerprint(same) == fingerprint(cfg())


def test_the_fingerprint_changes_with_anything_that_changes_a_result():
    assert fingerprint(cfg(**{"optim.lr": 0.01})) != fingerprint(cfg())
    assert fingerprint(cfg(seed=0)) != fingerprint(cfg())
    # Interpolations are hashed as written: the data dir they point to may move.
    assert fingerprint(cfg(**{"data.path": "${data_dir}/y"})) != fingerprint(cfg())


def test_a_key_added_at_its_neutral_default_keeps_older_fingerprints():
    # data.subset_seed=null does what configs without the key did: their jobs stay theirs.
    assert fingerprint(cfg(**{"data.subset_seed": None})) == fingerprint(cfg())
    assert fingerprint(cfg(**{"data.subset_seed": 0})) != fingerprint(cfg())
    plain = {"data": {"size": 100, "subset_seed": None}}  # as read back from composed.yaml
    assert fingerprint(plain) == fingerprint({"data": {"size": 100}})
    assert plain["data"] == {"size": 100, "subset_seed": None}  # left as it was


def test_all_and_the_fraction_1_are_null_and_one_job_whatever_the_subset_seed():
    null = fingerprint(cfg(**{"data.size": None}))
    assert fingerprint(cfg(**{"data.size": "all"})) == null
    assert fingerprint(cfg(**{"data.size": "ALL"})) == null
    assert fingerprint(cfg(**{"data.size": 1.0})) == null
    # Every draw of the whole pool is the same images: `data.subset_seed=0,1` plans one job.
    assert fingerprint(cfg(**{"data.size": "all", "data.subset_seed": 1})) == null
    # Counts and other fractions are jobs of their own; one image is not the whole pool.
    prints = {fingerprint(cfg(**{"data.size": v})) for v in (None, 1, 0.5, 100)}
    assert len(prints) == 4
    # A null size keeps its subset seed in the fingerprint, as before `all` existed.
    assert fingerprint(cfg(**{"data.size": None, "data.subset_seed": 1})) != null


def test_counts_and_null_fingerprint_as_before_fractions_existed():
    # Made by the code before `all` and fractions (b19e5ad): old sweep dirs keep their jobs.
    assert fingerprint(cfg()) == "109fcf248a5b4cc3"
    assert fingerprint(cfg(**{"data.size": None})) == "debd9129b6a9f525"
    assert fingerprint(cfg(**{"data.size": None, "data.subset_seed": 3})) == "17f986d724fbff54"


def test_a_preset_with_nothing_to_scale_is_the_same_job_at_any_strength(tmp_path):
    off = {"transforms": {}, "name": "off"}
    on = {"transforms": {"on": [{"_target_": "albumentations.Affine"}]}, "name": "on"}
    prints = [fingerprint(cfg(aug={**off, "strength": s})) for s in (1.0, 1, 0.5, 2.0)]
    assert len(set(prints)) == 1
    assert len({fingerprint(cfg(aug={**on, "strength": s})) for s in (1.0, 0.5, 2.0)}) == 3
    # So `aug=off,on aug.strength=1,0.5` plans off once: three jobs, not four.
    combos = [
        Planned((f"aug={a}", f"aug.strength={s}"), fingerprint(cfg(aug={**p, "strength": s})))
        for s in (1, 0.5)  # `aug.strength=1,0.5`: Hydra reads an int, then a float
        for a, p in (("off", off), ("on", on))
    ]
    grid = extend_plan(tmp_path, combos).entries()
    assert [e.overrides for e in grid] == [
        ("aug=off", "aug.strength=1"),
        ("aug=on", "aug.strength=1"),
        ("aug=on", "aug.strength=0.5"),
    ]


def test_differences_name_each_changed_key_old_and_new():
    assert differences(cfg(), cfg(**{"optim.lr": 0.01})) == "optim.lr: 0.001 -> 0.01"
    many = differences(cfg(), cfg(seed=1, **{"optim.lr": 1, "data.size": 2, "optim.x": 3}))
    assert many.endswith("; and 1 more") and "optim.x: (absent) -> 3" not in many


def planned(*combos: tuple[str, ...]) -> list[Planned]:
    values = [{k: yaml.safe_load(v) for k, v in (o.split("=") for o in c)} for c in combos]
    return [Planned(c, fingerprint(cfg(**v))) for c, v in zip(combos, values, strict=True)]


def test_extending_a_grid_keeps_the_numbers_of_unchanged_jobs_and_appends_new_ones(tmp_path):
    first = extend_plan(tmp_path, planned(("seed=1",), ("seed=2",)))
    assert first.grid == (0, 1)
    second = extend_plan(tmp_path, planned(("seed=0",), ("seed=1",), ("seed=2",), ("seed=3",)))
    assert second.grid == (2, 0, 1, 3)
    assert [e.overrides for e in second.entries()] == [
        ("seed=0",),
        ("seed=1",),
        ("seed=2",),
        ("seed=3",),
    ]
    assert read_plan(tmp_path) == second


def test_a_grid_that_drops_jobs_keeps_their_numbers_out_of_reach(tmp_path):
    extend_plan(tmp_path, planned(("seed=1",), ("seed=2",)))
    narrower = extend_plan(tmp_path, planned(("seed=2",)))
    assert narrower.grid == (1,)
    again = extend_plan(tmp_path, planned(("seed=5",)))
    assert again.grid == (2,)  # job 0 (seed 1) keeps its number though no grid names it now
    assert {e.job_num for e in again.jobs} == {0, 1, 2}


def test_a_combination_that_does_not_compose_keeps_its_number_by_its_overrides(tmp_path):
    bad = Planned(("aug=nope",), None, "no such preset")
    assert extend_plan(tmp_path, [bad, *planned(("seed=1",))]).grid == (0, 1)
    assert extend_plan(tmp_path, [*planned(("seed=1",)), bad]).grid == (1, 0)


def test_job_dirs_from_before_plans_are_taken_in_under_their_numbers(tmp_path):
    for num, seed in ((0, 1), (1, 2)):
        hydra = tmp_path / str(num) / ".hydra"
        hydra.mkdir(parents=True)
        composed = OmegaConf.to_container(cfg(seed=seed), resolve=False)
        (hydra / "config.yaml").write_text(yaml.safe_dump(composed))
        (hydra / "overrides.yaml").write_text(yaml.safe_dump([f"seed={seed}"]))
    plan = extend_plan(tmp_path, planned(("seed=2",), ("seed=3",)))
    assert plan.grid == (1, 2)


def test_a_plan_file_round_trips_and_a_damaged_one_reads_as_none(tmp_path):
    plan = SweepPlan((1, 0), (PlanEntry(0, ("a=1",), "f0"), PlanEntry(1, ("a=2",), None, "bad")))
    write_plan(tmp_path, plan)
    assert read_plan(tmp_path) == plan
    (tmp_path / "plan.json").write_text("{")
    assert read_plan(tmp_path) is None


def test_a_grid_whose_combinations_are_the_same_job_says_so_naming_the_key():
    """``aug.strength=0.5,1`` over the default ``aug=off``: 8 combinations, 4 jobs."""
    off = {"transforms": {}, "name": "off", "strength": 1.0}
    combos = []
    for size in (100, 1000):
        for seed in (1, 2):
            for strength in (0.5, 1):
                conf = cfg(aug={**off, "strength": strength}, seed=seed, **{"data.size": size})
                overrides = (f"data.size={size}", f"seed={seed}", f"aug.strength={strength}")
                combos.append(Planned(overrides, fingerprint(conf), unscaled=unscaled_preset(conf)))
    line = same_jobs(combos)
    assert line == "8 combinations are 4 jobs: aug=off trains the same at every aug.strength"


def test_a_grid_of_distinct_jobs_says_nothing_and_a_preset_that_scales_is_not_named():
    on = {"transforms": {"flip": {}}, "name": "on", "strength": 1.0}
    assert unscaled_preset(cfg(aug=on)) is None
    assert unscaled_preset(cfg(aug={"transforms": {}, "name": "off", "strength": 2})) == "aug=off"
    combos = [
        Planned((f"aug.strength={s}",), fingerprint(cfg(aug={**on, "strength": s})))
        for s in (0.5, 1.0)
    ]
    assert same_jobs(combos) is None


def test_other_keys_that_change_nothing_are_named_too():
    same = fingerprint(cfg())
    combos = [Planned(("seed=42", f"threads={t}"), same) for t in (1, 2)]
    assert same_jobs(combos) == (
        "2 combinations are 1 job: combinations that differ only in threads are the same config"
    )


def _default_config(tmp_path, *overrides):
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        return compose("train", overrides=[f"paths.output_dir={tmp_path}", *overrides])


def _without(conf, key: str):
    """``conf`` as composed before ``data.<key>`` existed in the data yamls."""
    conf = conf.copy()
    with open_dict(conf):
        del conf.data[key]
    return conf


def test_data_val_size_at_its_default_keeps_the_fingerprints_of_configs_without_it(tmp_path):
    mnist = _default_config(tmp_path, "data.size=100")
    assert mnist.data.val_size == 5000
    assert fingerprint(mnist) == fingerprint(_without(mnist, "val_size"))
    assert fingerprint(_default_config(tmp_path, "data.size=100", "data.val_size=null")) == (
        fingerprint(mnist)  # null is the dataset's own split: E1's tail, the same job
    )
    for other in ("data.val_size=1000", "data.val_size=0.2"):
        assert fingerprint(_default_config(tmp_path, "data.size=100", other)) != fingerprint(mnist)
    cifar = _default_config(tmp_path, "data=cifar10")
    assert cifar.data.val_size is None
    assert fingerprint(cifar) == fingerprint(_without(cifar, "val_size"))
    # 5000 is neutral for MNIST alone: for CIFAR-10 it is a drawn validation set
    assert fingerprint(_default_config(tmp_path, "data=cifar10", "data.val_size=5000")) != (
        fingerprint(cifar)
    )
