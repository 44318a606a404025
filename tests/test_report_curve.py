"""The report's statistics a reviewer accepts: off's learning curve fitted as a power law
with an asymptote, exchange rates read off it with bootstrap intervals over subsets,
intervals over subset means, regularisation settings like augmentation ones, the
head-to-head among the settings validation leads with (Holm), and the edges of strength
grids; ``--whole-plan``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import least_squares

from auglab import powerlaw
from auglab.record import JobRecord
from auglab.report import cells, make_report, setting_label
from auglab.report.cli import main
from auglab.stats import holm, t_interval
from tests.test_report import finished_job, plan, records, section, table_rows

OFF_SIZES = (50, 100, 200, 500, 1000, 2000, 5000, 10000)
SUBSET_EFFECT = {0: 1.00, 1: 1.06, 2: 0.95, 3: 1.03, 4: 0.97}


def off_error(n: float) -> float:
    return 2.0 * n**-0.5 + 0.01


def study(sweep: Path, gains: dict[str, tuple[float, str | None]] | None = None) -> dict:
    """off at 8 sizes x 5 subsets (one seed), and per setting (aug or reg) 3 sizes x 5
    subsets whose error is off's at ``gain`` x the size; validation = test + a little."""
    if gains is None:
        gains = {"elastic": (2.5, None), "dropout": (1.5, "reg")}
    jobs: dict[int, list[str]] = {}

    def add(overrides: list[str], error: float, subset: int, **fields) -> None:
        num = len(jobs)
        err = error * SUBSET_EFFECT[subset]
        finished_job(sweep, num, overrides, 1 - err, val_acc_best=1 - err + 0.001, **fields)
        jobs[num] = overrides

    for n in OFF_SIZES:
        for s in SUBSET_EFFECT:
            add([f"data.size={n}", "aug=off", f"data.subset_seed={s}", "seed=0"], off_error(n), s)
    for name, (gain, kind) in gains.items():
        for n in (100, 1000, 10000):
            for s in SUBSET_EFFECT:
                if kind == "reg":
                    over = [f"data.size={n}", "aug=off", f"reg={name}"]
                    fields = {"reg": name, "reg_strength": 1.0}
                else:
                    over, fields = [f"data.size={n}", f"aug={name}"], {}
                over += [f"data.subset_seed={s}", "seed=0"]
                add(over, off_error(gain * n), s, **fields)
    plan(sweep, jobs)
    return jobs


# ---- the power law -------------------------------------------------------------------------


def test_the_fit_is_scipys_least_squares_in_log_error():
    rng = np.random.default_rng(0)
    sizes = np.repeat(np.array(OFF_SIZES, dtype=float), 5)
    errors = np.array([off_error(n) for n in sizes]) * np.exp(rng.normal(0, 0.05, len(sizes)))
    law = powerlaw.fit(sizes, errors)

    def residuals(t):
        return np.log(errors) - np.log(np.exp(t[0]) * sizes ** -t[1] + t[2])

    ref = least_squares(residuals, [0.0, 0.5, 0.005], bounds=([-50, -5, 0], [50, 5, 1])).x
    assert law.asymptote and law.form == "err(n) = a·n^(−b) + c"
    assert (math.log(law.a), law.b, law.c) == pytest.approx(tuple(ref), rel=1e-5)
    assert (law.a, law.b, law.c) == pytest.approx((2.0, 0.5, 0.01), rel=0.15)


def test_fewer_than_four_sizes_fit_a_line_in_log_log_without_asymptote():
    law = powerlaw.fit(np.array([100, 1000, 10000]), np.array([0.3, 0.1, 0.05]))
    slope, intercept = np.polyfit(np.log([100, 1000, 10000]), np.log([0.3, 0.1, 0.05]), 1)
    assert not law.asymptote and law.c == 0 and law.form == "err(n) = a·n^(−b)"
    assert (law.b, math.log(law.a)) == pytest.approx((-slope, intercept))


def test_inverting_the_curve_and_errors_below_its_asymptote():
    params = np.array([math.log(2.0), 0.5, 0.01])
    (n,) = powerlaw.invert(params, off_error(400))
    assert n == pytest.approx(400)
    assert powerlaw.invert(params, 0.009)[0] == math.inf  # below c: no size reaches it
    assert math.isnan(powerlaw.invert(np.array([0.0, -0.1, 0.0]), 0.5)[0])  # rising curve


# ---- regularisation settings ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "label"),
    [
        ({"reg": "dropout", "reg_strength": 1.0}, "dropout"),
        ({"reg": "dropout", "reg_strength": 2.0}, "dropout x2"),
        ({"reg": "off", "reg_strength": 2.0}, "off"),
        ({"reg": "dropout", "reg_strength": 0.0}, "off"),
        ({"aug": "elastic", "reg": "dropout"}, "elastic+dropout"),
        (
            {"aug": "elastic", "aug_strength": 1.5, "reg": "weight_decay", "reg_strength": 0.5},
            "elastic x1.5+weight_decay x0.5",
        ),
        (
            {"overrides": ["aug=light", "reg=label_smoothing", "reg.strength=3"]},
            "light+label_smoothing x3",
        ),
    ],
)
def test_a_setting_joins_augmentation_and_regularisation(fields, label):
    assert setting_label(JobRecord(status="finished", **fields)) == label


def test_select_chooses_aug_and_reg_strength_jointly_per_draw(tmp_path):
    jobs, num = {}, 0
    # (aug.strength, reg.strength) -> (val, test) per seed; off once per seed.
    grid = {
        0: {("1", "0.5"): (0.80, 0.90), ("2", "0.5"): (0.86, 0.85), ("1", "1"): (0.82, 0.95)},
        1: {("1", "0.5"): (0.84, 0.88), ("2", "0.5"): (0.81, 0.99), ("1", "1"): (0.83, 0.80)},
    }
    for seed, options in grid.items():
        off = ["data.size=100", "aug=off", f"seed={seed}"]
        finished_job(tmp_path, num, off, 0.7, val_acc_best=0.7)
        jobs[num], num = off, num + 1
        for (aug_s, reg_s), (val, test) in options.items():
            over = ["data.size=100", "aug=elastic", f"aug.strength={aug_s}", "reg=dropout"]
            over += [f"reg.strength={reg_s}", f"seed={seed}"]
            fields = {"aug_strength": float(aug_s), "reg": "dropout", "reg_strength": float(reg_s)}
            finished_job(tmp_path, num, over, test, val_acc_best=val, **fields)
            jobs[num], num = over, num + 1
    plan(tmp_path, jobs)
    tuned = {c.setting: c for c in cells(records(tmp_path), select="val/acc_best")}
    assert list(tuned) == ["off", "elastic+dropout"]
    assert tuned["elastic+dropout"].chosen == (
        "aug.strength=2 reg.strength=0.5",
        "aug.strength=1 reg.strength=0.5",
    )
    assert tuned["elastic+dropout"].accs == (0.85, 0.88)
    report = make_report(tmp_path, select="val/acc_best")
    assert "`aug.strength`, `reg.strength`" in report.text
    assert report.result.setting_keys == ("aug.name", "reg.name")  # W&B groups by both
    assert make_report(tmp_path).result.setting_keys == (
        "aug.name",
        "aug.strength",
        "reg.name",
        "reg.strength",
    )
    # Untuned: each pair of strengths is a setting of its own.
    assert {c.setting for c in cells(records(tmp_path))} == {
        "off",
        "elastic+dropout x0.5",
        "elastic x2+dropout x0.5",
        "elastic+dropout",
    }


# ---- the study: off at 8 sizes x 5 subsets, two settings at 3 sizes ------------------------


def test_off_is_fitted_and_every_setting_reg_too_gets_a_rate_with_a_bootstrap_interval(tmp_path):
    study(tmp_path)
    report = make_report(tmp_path)
    exchange = report.result.compared.exchange
    (curve,) = exchange.curves
    assert curve.law.asymptote and len(curve.points) == 40 and curve.resampled == "subsets"
    assert (curve.law.a, curve.law.b, curve.law.c) == pytest.approx((2.0, 0.5, 0.01), rel=0.05)
    rates = {(r.setting, r.train_size): r for r in exchange.rates}
    assert set(rates) == {(s, n) for s in ("dropout", "elastic") for n in (100, 1000, 10000)}
    for (setting, n), rate in rates.items():
        gain = 2.5 if setting == "elastic" else 1.5
        assert rate.ratio == pytest.approx(gain, rel=0.1)
        assert rate.low <= rate.real <= rate.high and rate.resampled == "subsets"
        assert rate.extrapolated == (n == 10000) and rate.place == (
            "beyond" if n == 10000 else "within"
        )
    text = section(report.text, "Exchange rate")
    assert "† extrapolated" in text and "1,000 seeded resamples" in text
    # Holm over every pair of every size: 3 sizes where elastic leads dropout, and off too
    # at 10,000, where all three are within a point on validation.
    pairs = report.result.head_to_head.pairs
    assert [(p.train_size, p.first, p.second) for p in pairs] == [
        (100, "elastic", "dropout"),
        (1000, "elastic", "dropout"),
        (10000, "elastic", "dropout"),
        (10000, "elastic", "off"),
        (10000, "dropout", "off"),
    ]
    assert [p.p_holm for p in pairs] == pytest.approx(holm([p.p for p in pairs]))
    assert all(p.by == "subsets" and p.diff.n == 5 for p in pairs)
    rows = {(r[0], r[1]): r for r in table_rows(text)}
    assert rows["elastic", "10,000"][2].endswith("†")
    assert rows["elastic", "10,000"][4] == "extrapolated beyond off's largest size"
    assert "err(n) = a·n^(−b) + c" in section(report.text, "Learning curve of off")
    # Seeded: a rebuild gives the very same intervals.
    again = make_report(tmp_path).result.compared.exchange.rates
    assert [(r.low, r.high) for r in again] == [(r.low, r.high) for r in exchange.rates]


def test_a_setting_below_offs_asymptote_is_beyond_reach(tmp_path):
    jobs = study(tmp_path, {})
    for subset in SUBSET_EFFECT:  # 0.4% error: below off's asymptote c (1%)
        over = ["data.size=1000", "aug=elastic", f"data.subset_seed={subset}", "seed=0"]
        finished_job(tmp_path, len(jobs), over, 0.996)
        jobs[len(jobs)] = over
    plan(tmp_path, jobs)
    report = make_report(tmp_path)
    (rate,) = report.result.compared.exchange.rates
    assert (rate.place, rate.real, rate.high) == ("unreachable", None, math.inf)
    (row,) = table_rows(section(report.text, "Exchange rate"))
    assert row[2] == "beyond reach" and row[4] == "beyond reach: below off's asymptote c"


def test_cell_and_difference_intervals_are_over_subset_means(tmp_path):
    jobs = {}
    for subset, effect in ((0, 0.02), (1, 0.0), (2, -0.03)):
        for seed, wobble in ((0, 0.004), (1, -0.002)):
            for aug, gain in (("off", 0.0), ("on", 0.05 + 0.01 * subset)):
                over = ["data.size=100", f"aug={aug}", f"data.subset_seed={subset}", f"seed={seed}"]
                finished_job(tmp_path, len(jobs), over, 0.8 + effect + wobble + gain)
                jobs[len(jobs)] = over
    plan(tmp_path, jobs)
    result = make_report(tmp_path).result
    off = next(c for c in result.cells if c.setting == "off")
    expected = t_interval([0.821, 0.801, 0.771])  # each subset's mean over its two seeds
    assert off.interval_by == "subsets" and off.interval.n == 3
    assert (off.interval.low, off.interval.high) == pytest.approx((expected.low, expected.high))
    (diff,) = result.compared.differences
    paired_ci = t_interval([0.05, 0.06, 0.07])
    assert diff.interval_by == "subsets" and diff.pairs == 6
    assert (diff.interval.low, diff.interval.high) == pytest.approx((paired_ci.low, paired_ci.high))


def test_head_to_head_follows_validation_with_holm_over_all_pairs(tmp_path):
    # "sharp" tests higher than elastic at 1,000 but validation prefers elastic: elastic is
    # the pick (bold), and it is not separable from sharp.
    jobs = {}
    val_test = {
        "off": [(0.80, 0.80 + d) for d in (0.0, 0.01, -0.01, 0.005, -0.005)],
        "elastic": [(0.905, 0.90 + d) for d in (0.02, -0.01, 0.0, -0.02, 0.01)],
        "sharp": [(0.90, 0.91 + d) for d in (0.0, 0.015, -0.02, 0.01, -0.005)],
    }
    for aug, pairs in val_test.items():
        for subset, (val, test) in enumerate(pairs):
            over = ["data.size=1000", f"aug={aug}", f"data.subset_seed={subset}", "seed=0"]
            finished_job(tmp_path, len(jobs), over, test, val_acc_best=val)
            jobs[len(jobs)] = over
    plan(tmp_path, jobs)
    report = make_report(tmp_path)
    h2h = report.result.head_to_head
    (leader,) = h2h.leaders
    assert (leader.setting, leader.runner_up, leader.separable) == ("elastic", "sharp", False)
    accuracy = table_rows(report.text.split("## ")[0])
    assert [row[0] for row in accuracy if row[2].startswith("**")] == ["elastic"]
    assert [(p.first, p.second) for p in h2h.pairs] == [("elastic", "sharp")]  # off: 9.5 pts behind
    tests = [v for _, v in val_test["elastic"]], [v for _, v in val_test["sharp"]]
    raw = stats.ttest_rel(*tests).pvalue
    (pair,) = h2h.pairs
    assert pair.p == pytest.approx(raw) and pair.p_holm == pytest.approx(raw)
    assert "leading: elastic (not separable from sharp)" in section(report.text, "Head to head")
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_validation_picking_the_edge_of_the_strength_grid_is_flagged(tmp_path):
    jobs = {}
    for subset in range(5):
        best = "2" if subset < 4 else "1"  # validation picks 2, the largest, in 4 of 5
        for strength in ("1", "1.5", "2"):
            over = ["data.size=100", "aug=elastic", f"aug.strength={strength}"]
            over += [f"data.subset_seed={subset}", "seed=0"]
            val = 0.9 if strength == best else 0.8
            finished_job(
                tmp_path, len(jobs), over, 0.85, val_acc_best=val, aug_strength=float(strength)
            )
            jobs[len(jobs)] = over
    plan(tmp_path, jobs)
    report = make_report(tmp_path, select="val/acc_best")
    (flag,) = report.result.edges
    assert flag.text == (
        "elastic at 100: validation picked aug.strength=2, the largest tried, in 4 of 5 "
        "subsets: extend the grid, e.g. aug.strength=2.5"
    )
    assert f"- {flag.text}" in section(report.text, "Edge of the strength grid")
    assert report.tables["strength_edges"][0]["suggest"] == "2.5"


def test_a_reg_strength_at_the_small_end_of_its_grid_is_flagged(tmp_path):
    jobs = {}
    for seed in range(3):
        for strength in ("0.5", "1", "2"):
            over = ["data.size=200", "aug=off", "reg=weight_decay", f"reg.strength={strength}"]
            over.append(f"seed={seed}")
            val = 0.9 if strength == "0.5" else 0.8
            fields = {"reg": "weight_decay", "reg_strength": float(strength)}
            finished_job(tmp_path, len(jobs), over, 0.85, val_acc_best=val, **fields)
            jobs[len(jobs)] = over
    plan(tmp_path, jobs)
    report = make_report(tmp_path, select="val/acc_best")
    (cell,) = report.result.cells
    assert (cell.setting, cell.chosen) == ("weight_decay", (("reg.strength=0.5", 3),))
    (flag,) = report.result.edges
    assert flag.text == (
        "weight_decay at 200: validation picked reg.strength=0.5, the smallest tried, in 3 of "
        "3 seeds: extend the grid, e.g. reg.strength=0.25"
    )


def test_whole_plan_reports_every_grid_ever_run_into_the_dir(tmp_path, capsys):
    jobs = {
        0: ["data.size=100", "aug=off", "aug.strength=1"],
        1: ["data.size=100", "aug=on", "aug.strength=1"],
        2: ["data.size=100", "aug=on", "aug.strength=2"],  # the latest sweep: another grid
        3: ["data.size=1000", "aug=off", "aug.strength=1"],
    }
    plan(tmp_path, jobs, grid=[2, 3])
    for num, acc in ((0, 0.7), (1, 0.8), (2, 0.85), (3, 0.9)):
        finished_job(tmp_path, num, jobs[num], acc, aug_strength=float(jobs[num][2][-1]))
    assert "2 finished jobs of 2 expected" in make_report(tmp_path).text
    assert main([str(tmp_path), "--whole-plan"]) == 0
    out = capsys.readouterr().out
    assert "4 finished jobs of 4 expected" in out
    assert [row[:2] for row in table_rows(out.split("## ")[0])] == [
        ["off", "100"],
        ["off", "1000"],
        ["on", "100"],
        ["on x2", "100"],
    ]
