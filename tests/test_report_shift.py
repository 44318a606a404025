"""The report's "Under shift" section and panel, on generated records with known answers."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PIL import Image

from auglab import plots
from auglab.plan import PlanEntry, SweepPlan, write_plan
from auglab.report import make_report
from auglab.report.shifted import under_shift
from auglab.stats import complete_mean, t_interval
from tests.helpers import write_job
from tests.test_report import records, section, table_rows

SEVERITY = {"rotate": 2, "fog": 5}
#: (aug, size) -> accuracy under rotate and fog, before the seed's +-0.01.
BASE = {
    ("off", 100): (0.50, 0.40),
    ("off", 1000): (0.70, 0.60),
    ("on", 100): (0.65, 0.38),
    ("on", 1000): (0.85, 0.58),
}
SEED_SHIFT = {0: -0.01, 1: 0.01}


def shift(rotate: float, fog: float, clean: float, seed: int = 0) -> dict:
    acc = {"fog": fog, "rotate": rotate}
    return {
        "suite": "mnist_c",
        "seed": seed,
        "corruptions": ["rotate", "fog"],
        "severity": SEVERITY,
        "source": "generated",
        "sources": dict.fromkeys(acc, "generated"),
        "acc": acc,
        "loss": dict.fromkeys(acc, 1.0),
        "mean_acc": complete_mean(acc.values()),
        "clean_acc": clean,
        "images": 1000,
        "checkpoint": "checkpoints/best-epoch000.ckpt",
    }


def shifted_sweep(sweep: Path) -> None:
    """2 sizes x off/on x 2 seeds, all tested under shift; on's rotate gain wobbles by seed
    at 100 images; plus an off job not yet evaluated and one of another suite seed."""
    jobs = {}
    for (aug, size), (rotate, fog) in BASE.items():
        for seed, d in SEED_SHIFT.items():
            wobble = (0.01 if seed == 0 else -0.01) if (aug, size) == ("on", 100) else 0.0
            clean = 0.9 + d
            overrides = [f"data.size={size}", f"aug={aug}", f"seed={seed}"]
            num = len(jobs)
            write_job(
                sweep, num, overrides, clean, fingerprint=f"fp{num}",
                shift=shift(rotate + d + wobble, fog + d, clean),
            )  # fmt: skip
            jobs[num] = overrides
    for seed, evaluated in ((2, None), (3, shift(0.1, 0.1, 0.9, seed=7))):
        overrides = ["data.size=100", "aug=off", f"seed={seed}"]
        write_job(sweep, len(jobs), overrides, 0.9, fingerprint=f"fp{len(jobs)}", shift=evaluated)
        jobs[len(jobs)] = overrides
    entries = tuple(PlanEntry(n, tuple(o), f"fp{n}") for n, o in jobs.items())
    write_plan(sweep, SweepPlan(tuple(jobs), entries))


def test_under_shift_reads_the_suite_with_the_clean_reports_own_statistics(tmp_path):
    shifted_sweep(tmp_path)
    report = make_report(tmp_path)
    text = section(report.text, "Under shift").strip()
    assert text.startswith(
        "8 finished jobs tested on the corruption suite `mnist_c` (2 corruptions, seed 0; "
        "images generated from each test set by `auglab.shift`)."
    )
    assert "2 finished jobs have no results of this suite, left out here" in text
    accuracy, per_corruption, difference, exchange, helped = text.split("\n### ")
    off100 = ["off", "100", "0.9000", "0.4500 ± 0.0141"]
    on100 = ["on", "100", "0.9000", "0.5150 ± 0.0071"]
    rows = table_rows(accuracy)
    assert [row[:4] for row in rows] == [
        off100,
        ["off", "1000", "0.9000", "0.6500 ± 0.0141"],
        on100,
        ["on", "1000", "0.9000", "0.7150 ± 0.0141"],
    ]
    assert [row[5] for row in rows] == ["45.00", "25.00", "38.50", "18.50"]  # drop in points
    assert "| rotate (2)   | fog (5)" in per_corruption
    assert table_rows(per_corruption)[2] == ["on", "100", "65.0", "38.0"]
    # Paired by seed: on - off = 0.07 (seed 0) and 0.06 (seed 1) at 100 images.
    ci = t_interval([0.07, 0.06])
    assert table_rows(difference) == [
        ["on", "100", "+6.50 *", f"[+{100 * ci.low:.2f}, +{100 * ci.high:.2f}]", "2"],
        ["on", "1000", "+6.50 *", "[+6.50, +6.50]", "2"],
    ]
    # off's shifted error: 0.55 at 100, 0.35 at 1,000, fitted a·n^-b through both; on's
    # 0.485 at 100 is reached at 100 x (0.55 / 0.485)^(1/b) = 190, with b = log10(0.55/0.35).
    b = math.log10(0.55 / 0.35)
    assert 100 * (0.55 / 0.485) ** (1 / b) == pytest.approx(189.8, abs=0.1)
    rows = table_rows(exchange)
    assert rows[0][:3] == ["on", "100", "≈ 190 (x1.9)"] and rows[0][4] == ""
    assert rows[1][2].endswith("†") and rows[1][4] == "extrapolated beyond off's largest size"
    assert "the setting's mean shifted error" in exchange
    assert table_rows(helped) == [
        ["on", "100", "fog: −2.0 pts", "rotate: +15.0 pts", "2"],
        ["on", "1000", "fog: −2.0 pts", "rotate: +15.0 pts", "2"],
    ]
    plain = report.tables
    assert plain["shift_corruptions"][0] == {
        "setting": "off",
        "train_size": 100,
        "rotate": pytest.approx(0.50),
        "fog": pytest.approx(0.40),
    }
    # Fitted on each job's log error (geometric means), so a little off the 189.8 above.
    assert [r["real_images"] for r in plain["shift_exchange_rate"]][0] == pytest.approx(
        189.8, rel=0.01
    )
    with Image.open(report.png) as png:  # a fourth panel: shifted accuracy against size
        assert png.size == (2900, 500)


def test_without_shift_results_the_report_has_no_such_section(tmp_path):
    shifted_sweep(tmp_path)
    for path in tmp_path.glob("*/metrics.json"):
        path.write_text(path.read_text().replace('"shift": {', '"shift_": {'))
    report = make_report(tmp_path)
    assert "Under shift" not in report.text and under_shift(records(tmp_path)) is None
    assert not any(name.startswith("shift") for name in report.tables)
    with Image.open(report.png) as png:  # accuracy, exchange rate, off's curve
        assert png.size == (2200, 500)


def test_the_shift_panel_draws_each_setting_in_its_colour():
    lines = {"off": [(100, 0.7, 0.01), (1000, 0.9, None)], "on": [(100, 0.8, None)]}
    shifted = {"on": [(100, 0.5, None)], "off": [(100, 0.4, None), (1000, 0.6, None)]}
    fig = plots.sweep_report_figure(lines, {"on": [(100, 300.0, None)]}, shifted)
    clean_ax, _, shift_ax = fig.axes

    def colours(ax) -> dict[str, str]:
        return {ln.get_label(): ln.get_color() for ln in ax.lines if ln.get_label()[0] != "_"}

    assert colours(shift_ax) == colours(clean_ax) and set(colours(shift_ax)) == {"off", "on"}
    assert list(next(line for line in shift_ax.lines if line.get_label() == "off").get_ydata()) == [
        0.4,
        0.6,
    ]


@pytest.mark.parametrize(
    ("values", "mean"),
    [([0.5, 0.7], 0.6), ([0.5, None], None), ([0.5, math.nan], None), ([], None)],
)
def test_a_suite_mean_needs_every_corruption(values, mean):
    assert complete_mean(values) == (mean if mean is None else pytest.approx(mean))
