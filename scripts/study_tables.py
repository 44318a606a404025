"""The tables of docs/augmentation_study.md that span sweep dirs, from their records:

- selection with E1's 5,000 validation images against selection a researcher can make
  (20% of the N images held out, ``data.val_size=0.2``): each setting's test accuracy, its
  gain over ``off`` and its exchange rate, side by side. A researcher's rate is read on the
  E1 sweep's fitted ``off`` curve at N, the images they labelled (the held-out 20% count);
- the targets: validation's pick per size against the issue's accuracy targets;
- augmentation and regularisation together: each ``aug+reg`` combination against the
  same ``reg`` alone and the same ``aug`` alone, paired by subset;
- the cap: at the largest size, the epochs each setting's chosen jobs used against the cap,
  and the same jobs rerun with the cap doubled (a third sweep dir), paired.

    python scripts/study_tables.py E1_SWEEP_DIR [REALISTIC_SWEEP_DIR] [--doubled-cap DIR]

Every sweep dir is read with its whole plan (studies run as several sweeps into one dir)
and tuned on val/acc_best. Prints markdown."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from auglab.record import JobRecord
from auglab.report.analysis import analyse
from auglab.report.build import shown_jobs
from auglab.report.cells import OFF, Cell, cells
from auglab.report.exchange_fit import Rate, fitted_exchange
from auglab.report.result import SweepResult
from auglab.stats import Interval, paired, t_interval

SELECT = "val/acc_best"
TARGETS = {100: 0.95, 1000: 0.98, 10000: 0.99}
#: The setting a held-out-20% ``off`` is shown as on the E1 curve.
HELD_OUT_OFF = "off (20% held out)"


def study(sweep_dir: Path) -> tuple[SweepResult, list[Cell], list[JobRecord]]:
    """The dir's analysis, its tuned cells and every finished job (chosen or not)."""
    jobs, planned = shown_jobs(sweep_dir, whole_plan=True)
    done = [j for j in jobs if j.ok]
    return analyse(sweep_dir.name, jobs, planned, SELECT), cells(done, SELECT), done


def labelled(cell: Cell) -> Cell:
    """A researcher's cell placed at N, the images they had (trained on + held out)."""
    n = round(statistics.fmean(j.train_size + (j.val_size or 0) for j in cell.jobs))
    aug = HELD_OUT_OFF if cell.aug == OFF else cell.aug
    return replace(cell, train_size=n, aug=aug, setting=cell.setting.replace(OFF, aug, 1))


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.4f}"


def ci(iv: Interval | None, scale: float = 1.0, fmt: str = "{:.4f}") -> str:
    if iv is None or iv.low is None:
        return ""
    return f"[{fmt.format(iv.low * scale)}, {fmt.format(iv.high * scale)}]"


def rate_text(rate: Rate | None) -> str:
    if rate is None or rate.real is None:
        return "—" if rate is None else rate.place
    high = "∞" if rate.high is None or rate.high == float("inf") else f"{rate.high:,.0f}"
    mark = " †" if rate.extrapolated else ""
    return f"≈ {rate.real:,.0f} (x{rate.ratio:.1f}){mark} [{rate.low:,.0f}, {high}]"


def selection_table(
    e1: SweepResult, e1_cells: Sequence[Cell], real: SweepResult, real_cells: Sequence[Cell]
) -> str:
    """Per setting and size: E1-validation and realistic test accuracy, gain, rate."""
    curve_cells = [c for c in e1_cells if c.aug == OFF and c.others == ()]
    moved = [labelled(c) for c in real_cells]
    real_rates = {
        (r.setting, r.train_size): r for r in fitted_exchange([*curve_cells, *moved]).rates
    }
    e1_rates = {(r.setting, r.train_size): r for r in e1.compared.exchange.rates}
    gains = {(d.setting, d.train_size): d.interval for d in e1.compared.differences}
    real_gains = {(d.setting, d.train_size): d.interval for d in real.compared.differences}
    rows = [
        "| setting | N | E1 validation: test acc | gain over off (pts) | worth (real images) "
        "| 20% held out: test acc | gain over off (pts) | worth (real images) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    real_by = {(labelled(c).setting, labelled(c).train_size): c for c in real_cells}
    shown = set()
    for cell in e1.cells:
        moved_key = (cell.setting if cell.setting != OFF else HELD_OUT_OFF, cell.train_size)
        if moved_key not in real_by and cell.setting != OFF:
            continue
        shown.add(moved_key)
        rows.append(
            f"| {cell.setting} | {cell.train_size:,} | {pct(cell.mean)} {ci(cell.interval)} "
            f"| {diff_text(gains.get((cell.setting, cell.train_size)))} "
            f"| {rate_text(e1_rates.get((cell.setting, cell.train_size)))} "
            + held_out_columns(real, real_gains, real_by.get(moved_key), real_rates.get(moved_key))
        )
    # settings selected only with 20% held out (their E1 side is not in the E1 dir)
    for key in sorted(set(real_by) - shown, key=lambda k: (k[0] == HELD_OUT_OFF, k)):
        setting = OFF if key[0] == HELD_OUT_OFF else key[0]
        rows.append(
            f"| {setting} | {key[1]:,} | — | — | — "
            + held_out_columns(real, real_gains, real_by[key], real_rates.get(key))
        )
    return "\n".join(rows)


def held_out_columns(real: SweepResult, gains: dict, theirs: Cell | None, rate: Rate | None) -> str:
    """The 20%-held-out side of a selection row: test acc, gain over off, worth at N."""
    rc = next((r for r in real.cells if theirs and r.setting == theirs.setting
               and r.train_size == theirs.train_size), None)  # fmt: skip
    if rc is None:
        return f"| — | — | {rate_text(rate)} |"
    return (
        f"| {pct(rc.mean)} {ci(rc.interval)} "
        f"| {diff_text(gains.get((rc.setting, rc.train_size)))} | {rate_text(rate)} |"
    )


def diff_text(iv: Interval | None) -> str:
    if iv is None:
        return "—"
    return f"{iv.mean * 100:+.2f} {ci(iv, 100, '{:+.2f}')}"


def targets_table(result: SweepResult, label: str) -> str:
    rows = [f"| N | {label}: validation's pick | test acc [95% CI] | target | gap (pts) |",
            "|---|---|---|---|---|"]  # fmt: skip
    for leader in result.head_to_head.leaders:
        # N: the images labelled (a researcher's 80% trained on + 20% held out)
        n = leader.train_size if leader.train_size in TARGETS else round(leader.train_size / 0.8)
        target = TARGETS.get(n)
        if target is None:  # sizes of off's curve alone
            continue
        cell = next(c for c in result.cells if c.setting == leader.setting
                    and c.train_size == leader.train_size)  # fmt: skip
        gap = f"{(cell.mean - target) * 100:+.2f}"
        rows.append(
            f"| {n:,} | {leader.setting} | {pct(cell.mean)} {ci(cell.interval)} "
            f"| {target} | {gap} |"
        )
    return "\n".join(rows)


def on_top_table(e1_cells: Sequence[Cell]) -> str:
    """Each ``aug+reg`` setting minus ``reg`` alone at its size (what augmentation still
    buys once the network is regularised) and minus ``aug`` alone (what the regularisation
    adds to it): paired by draws, t interval over them."""
    by = {(c.aug, c.train_size): c for c in e1_cells}
    rows = ["| combination | N | combined | regularisation alone | augmentation alone "
            "| augmentation on top (pts) | regularisation on top (pts) |",
            "|---|---|---|---|---|---|---|"]  # fmt: skip
    for cell in e1_cells:
        aug, plus, reg = cell.aug.partition("+")
        alone = by.get((reg, cell.train_size)) if plus and aug and reg else None
        if alone is None:
            continue
        augmented = by.get((aug, cell.train_size))
        rows.append(
            f"| {cell.setting} | {cell.train_size:,} | {pct(cell.mean)} | {pct(alone.mean)} "
            f"| {pct(augmented.mean if augmented else None)} | {diff_text(_paired(cell, alone))} "
            f"| {diff_text(_paired(cell, augmented))} |"
        )
    return "\n".join(rows)


def _paired(cell: Cell, other: Cell | None) -> Interval | None:
    if other is None:
        return None
    ours = {k: float(j.test_acc) for k, j in cell.by_draws().items()}
    theirs = {k: float(j.test_acc) for k, j in other.by_draws().items()}
    return t_interval(list(paired(ours, theirs).values()))


def cap_table(
    e1_cells: Sequence[Cell],
    e1_jobs: Sequence[JobRecord],
    doubled: Sequence[Cell] | None,
    size: int,
) -> str:
    """Epochs used against the cap at ``size``; with ``doubled``, each rerun's test change
    against the E1 job of the same config (its overrides but the cap), chosen or not."""
    twice = {c.setting: c for c in doubled or () if c.train_size == size}
    by_config = {_config(j): j for j in e1_jobs}
    rows = ["| setting | jobs | epochs used (max) | at the cap | doubled cap: jobs | change (pts) |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for cell in e1_cells:
        if cell.train_size != size:
            continue
        epochs = [j.epochs or 0 for j in cell.jobs]
        capped = sum(e >= 100 for e in epochs)
        other = twice.get(cell.setting)
        change = ""
        if other is not None:
            pairs = [(j, by_config.get(_config(j))) for j in other.jobs]
            diffs = [float(j.test_acc) - float(e.test_acc) for j, e in pairs if e is not None]
            change = f"{len(diffs)} | {statistics.fmean(diffs) * 100:+.3f}" if diffs else "0 | —"
        rows.append(
            f"| {cell.setting} | {len(epochs)} | {max(epochs)} | {capped} | {change or '— | —'} |"
        )
    return "\n".join(rows)


def _config(job: JobRecord) -> frozenset[str]:
    """A job's overrides without the cap, nor a strength that scales nothing (``off``): what
    a doubled-cap rerun shares with its original."""
    unused = {"trainer.max_epochs"}
    unused |= {"aug.strength"} if job.aug == OFF else set()
    unused |= {"reg.strength"} if job.reg in (None, OFF) else set()
    return frozenset(o for o in job.overrides if o.split("=", 1)[0] not in unused)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("e1", type=Path)
    parser.add_argument("realistic", type=Path, nargs="?")
    parser.add_argument("--doubled-cap", type=Path, help="the same jobs rerun with the cap doubled")
    args = parser.parse_args(argv)
    e1, e1_cells, e1_jobs = study(args.e1)
    print("## Targets (E1 validation)\n\n" + targets_table(e1, "E1 validation") + "\n")
    if args.realistic:
        real, real_cells, _ = study(args.realistic)
        print("## Targets (20% held out)\n\n" + targets_table(real, "20% held out") + "\n")
        print("## Selection\n\n" + selection_table(e1, e1_cells, real, real_cells) + "\n")
    print("## Augmentation and regularisation together\n\n" + on_top_table(e1_cells) + "\n")
    doubled = study(args.doubled_cap)[1] if args.doubled_cap else None
    print("## Cap at 10,000\n\n" + cap_table(e1_cells, e1_jobs, doubled, 10000))


if __name__ == "__main__":
    main()
