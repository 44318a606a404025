"""scripts/study_tables.py: a researcher's selection read on the E1 sweep's off curve at
the N images they labelled, the targets by validation's pick, and the cap check."""

from __future__ import annotations

import re
import runpy

from tests.helpers import REPO
from tests.test_report import finished_job, plan
from tests.test_report_curve import SUBSET_EFFECT, off_error, study

SCRIPT = runpy.run_path(str(REPO / "scripts" / "study_tables.py"), run_name="study_tables")


def realistic(sweep, gain: float = 2.5, setting: str = "aug=elastic") -> None:
    """off and ``setting`` at N = 100 and 1,000, trained on 80% and validated on the other
    20%: the setting's error is off's at ``gain`` x the 80% it trained on."""
    jobs: dict[int, list[str]] = {}
    for n in (100, 1000):
        for chosen, factor in (("aug=off", 1.0), (setting, gain)):
            for s, effect in SUBSET_EFFECT.items():
                over = [f"data.size={n}", chosen, f"data.subset_seed={s}", "seed=0"]
                fields = {}
                if chosen.startswith("reg="):
                    over.insert(1, "aug=off")
                    fields = {"reg": chosen.split("=")[1], "reg_strength": 1.0}
                err = off_error(factor * 0.8 * n) * effect
                num = len(jobs)
                finished_job(
                    sweep, num, over, 1 - err, val_acc_best=1 - err, train_size=int(0.8 * n),
                    val_size=int(0.2 * n), epochs=40 + s, **fields,
                )  # fmt: skip
                jobs[num] = over
    plan(sweep, jobs)


def worth(table: str, setting: str, n: str, column: int) -> float:
    """The ratio in a row's worth column (``≈ 200 (x2.0) [...]``)."""
    row = next(r for r in table.splitlines() if r.startswith(f"| {setting} | {n} |"))
    return float(re.search(r"\(x([0-9.]+)\)", row.split("|")[column]).group(1))


def test_a_researchers_selection_is_worth_what_off_needs_for_its_error_at_n(tmp_path, capsys):
    study(tmp_path / "e1")
    realistic(tmp_path / "real")
    SCRIPT["main"]([str(tmp_path / "e1"), str(tmp_path / "real")])
    out = capsys.readouterr().out
    table = out.split("## Selection")[1]
    # E1 validation: elastic is off at 2.5x its size; held out: 2.5 x 80% = 2x the N labelled
    assert abs(worth(table, "elastic", "100", 5) - 2.5) < 0.2
    assert abs(worth(table, "elastic", "100", 8) - 2.0) < 0.2
    assert abs(worth(table, "off", "1,000", 8) - 0.8) < 0.1  # holding out 20% costs 20%
    targets = out.split("## Targets (E1 validation)")[1].split("##")[0]
    assert re.search(r"\| 100 \| elastic \| 0\.\d{4} \[", targets)  # validation's pick
    held_out = out.split("## Targets (20% held out)")[1].split("##")[0]
    assert re.search(r"\| 1,000 \| elastic \| 0\.\d{4} \[", held_out)  # N labelled, not 800


def test_a_setting_selected_only_with_20_percent_held_out_still_gets_its_row(tmp_path, capsys):
    study(tmp_path / "e1", gains={})  # off's curve alone
    realistic(tmp_path / "real", gain=1.5, setting="reg=dropout")
    SCRIPT["main"]([str(tmp_path / "e1"), str(tmp_path / "real")])
    table = capsys.readouterr().out.split("## Selection")[1].split("##")[0]
    row = next(r for r in table.splitlines() if r.startswith("| dropout | 1,000 |"))
    cols = [c.strip() for c in row.split("|")]
    assert cols[3:6] == ["—", "—", "—"]  # no E1 side in an E1 dir without dropout
    assert cols[7].startswith("+") and "[" in cols[7]  # its gain over a held-out off
    assert abs(worth(table, "dropout", "1,000", 8) - 1.2) < 0.1  # 1.5 x the 80% trained on


def capped(sweep, epochs: dict[int, int], accs: dict[int, float]) -> None:
    """elastic at 10,000 images, one job per subset: its epochs and test accuracy."""
    jobs = {}
    for num, s in enumerate(epochs):
        over = ["data.size=10000", "aug=elastic", f"data.subset_seed={s}", "seed=0"]
        finished_job(sweep, num, over, accs[s], val_acc_best=accs[s], epochs=epochs[s])
        jobs[num] = over
    plan(sweep, jobs)


def test_the_cap_table_counts_jobs_at_the_cap_and_pairs_the_doubled_cap(tmp_path, capsys):
    capped(tmp_path / "e1", {0: 40, 1: 100, 2: 60}, {0: 0.98, 1: 0.981, 2: 0.982})
    capped(tmp_path / "twice", {0: 40, 1: 130}, {0: 0.98, 1: 0.983})
    SCRIPT["main"]([str(tmp_path / "e1"), "--doubled-cap", str(tmp_path / "twice")])
    cap = capsys.readouterr().out.split("## Cap at 10,000")[1]
    # 3 jobs, one stopped by the cap; doubled, job 0 is unchanged and job 1 gains 0.2 points
    assert "| elastic | 3 | 100 | 1 | 2 | +0.100 |" in cap


def test_a_doubled_cap_rerun_is_paired_with_its_own_config_not_validations_pick(tmp_path, capsys):
    """E1 tried strength 0.5 and 1; validation picks 0.5 (higher val) on subset 0; the
    doubled-cap rerun of strength 1 is compared with strength 1's job, not the pick. `off`
    ran in E1 with an aug.strength that scales nothing; its rerun without one still pairs."""
    sweep, jobs = tmp_path / "e1", {}
    for num, (aug, strength, acc) in enumerate(
        (("elastic", "0.5", 0.985), ("elastic", "1", 0.980), ("off", "1", 0.970))
    ):
        over = ["data.size=10000", f"aug={aug}", f"aug.strength={strength}"]
        finished_job(sweep, num, [*over, "data.subset_seed=0"], acc, val_acc_best=acc, epochs=40)
        jobs[num] = [*over, "data.subset_seed=0"]
    plan(sweep, jobs)
    twice, reruns = tmp_path / "twice", {}
    for num, (over, acc) in enumerate(
        ((["aug=elastic", "aug.strength=1"], 0.980), (["aug=off"], 0.971))
    ):
        over = ["data.size=10000", *over, "data.subset_seed=0", "trainer.max_epochs=200"]
        finished_job(twice, num, over, acc, val_acc_best=acc, epochs=40)
        reruns[num] = over
    plan(twice, reruns)
    SCRIPT["main"]([str(sweep), "--doubled-cap", str(twice)])
    cap = capsys.readouterr().out.split("## Cap at 10,000")[1]
    assert "| elastic | 1 | 40 | 0 | 1 | +0.000 |" in cap  # not -0.500 against the pick
    assert "| off | 1 | 40 | 0 | 1 | +0.100 |" in cap


def test_a_combination_is_paired_with_each_of_its_parts_alone(tmp_path, capsys):
    sweep, jobs = tmp_path / "e1", {}
    for s in range(5):
        combined = 0.9 + 0.01 * s + 0.02 + 0.001 * s
        for aug, reg, acc in (
            ("off", "dropout", 0.9 + 0.01 * s),  # dropout alone
            ("elastic", "dropout", combined),  # 2 to 2.4 points above it
            ("elastic", None, combined - 0.005 + 0.0005 * s),  # 0.5 to 0.3 below it
        ):
            over = ["data.size=100", f"aug={aug}", f"data.subset_seed={s}", "seed=0"]
            fields = {"aug": aug}
            if reg:
                over.insert(2, f"reg={reg}")
                fields.update(reg=reg, reg_strength=1.0)
            finished_job(sweep, len(jobs), over, acc, val_acc_best=acc, **fields)
            jobs[len(jobs)] = over
    plan(sweep, jobs)
    SCRIPT["main"]([str(sweep)])
    table = capsys.readouterr().out.split("## Augmentation and regularisation together")[1]
    row = next(r for r in table.splitlines() if r.startswith("| elastic+dropout | 100 |"))
    cols = [c.strip() for c in row.split("|")]
    assert cols[6].startswith("+2.20 [")  # augmentation on top of dropout: mean 2.2 points
    assert cols[7].startswith("+0.40 [")  # dropout on top of elastic: 0.5 to 0.3, mean 0.4
