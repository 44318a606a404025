"""``report.md``: per setting and size, test accuracy over seeds with a 95% interval, the
paired difference to ``off``, how much of the spread the training subset makes (when the
sweep varies ``data.subset_seed``), the exchange rate and the classes helped and hurt most;
"Under shift", the same on the corruption suite when jobs were tested on it
(``python -m auglab.evaluate``); then the jobs that are not in the results yet, so a partial
sweep never reads as a whole one.

The tables are also returned as rows of plain values, for the W&B report run.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from auglab.plan import PLAN_FILE, PlannedJob
from auglab.record import JobRecord
from auglab.report.analysis import (
    OFF,
    Cell,
    Comparison,
    Exchange,
    Shifted,
    comparisons,
    exchange_rates,
    off_curves,
    spreads,
    varies_subsets,
)
from auglab.stats import LEVEL, VarianceSplit

REPORT_MD, REPORT_PNG = "report.md", "report.png"
#: Classes listed per setting and size in "Per-class effects", each way.
TOP_CLASSES = 3
MINUS = "\u2212"


def accuracy_rows(table_cells: Sequence[Cell]) -> list[dict[str, Any]]:
    """One row per cell; with several subsets, ``subsets`` and ``seeds`` count each."""
    by_subset = varies_subsets(table_cells)
    rows = []
    for c in table_cells:
        ci = c.interval
        row = {
            "setting": c.setting,
            "train_size": c.train_size,
            "test_acc": f"{c.mean:.4f}" + ("" if c.std is None else f" ± {c.std:.4f}"),
            f"{LEVEL:.0%} CI": _no_interval(ci.n)
            if ci.low is None
            else f"[{ci.low:.4f}, {ci.high:.4f}]",
            "test_loss": f"{statistics.fmean(c.losses):.4f}" if c.losses else "",
            "seeds": len(set(c.seeds)) if by_subset else len(c.accs),
        }
        if by_subset:
            row = {**row, "subsets": len(c.subset_seeds)}
        if c.chosen:
            row["chosen"] = _chosen(c.chosen)
        rows.append(row)
    return rows


def difference_rows(
    compared: Sequence[Comparison], by_subset: bool = False, metric: str = "test acc"
) -> list[dict[str, Any]]:
    """One row per comparison; ``by_subset``: pairs are (subset seed, seed), not seeds."""
    common = "no (subset seed, seed) in common" if by_subset else "no seed in common"
    rows = []
    for comp in compared:
        ci = comp.interval
        if ci is None:
            why = "no `off` job at this size" if comp.base is None else common
            diff, interval = why, ""
        else:
            diff = _signed(100 * ci.mean) + (" *" if ci.excludes_zero else "")
            interval = (
                _no_interval(ci.n, "pair")
                if ci.low is None
                else f"[{_signed(100 * ci.low)}, {_signed(100 * ci.high)}]"
            )
        rows.append(
            {
                "setting": comp.cell.setting,
                "train_size": comp.cell.train_size,
                f"Δ {metric} (pts)": diff,
                f"{LEVEL:.0%} CI": interval,
                "pairs": len(comp.diffs),
            }
        )
    return rows


def spread_tables(
    found: Sequence[tuple[Cell, VarianceSplit]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The subset / seed split as markdown rows (sd in points, share) and as plain values."""
    shown, plain = [], []
    for cell, split in found:
        parts = {"subset": split.subset, "seed": split.seed, "residual": split.residual}
        shown.append(
            {
                "setting": cell.setting,
                "train_size": cell.train_size,
                "subsets x seeds": f"{split.n_subsets} x {split.n_seeds}",
                **{name: _component(split, var) for name, var in parts.items()},
            }
        )
        plain.append(
            {
                "setting": cell.setting,
                "train_size": cell.train_size,
                "subsets": split.n_subsets,
                "seeds": split.n_seeds,
                **{f"{name}_var": var for name, var in parts.items()},
                **{f"{name}_share": split.share(var) for name, var in parts.items()},
            }
        )
    return shown, plain


def exchange_rows(rates: Sequence[Exchange]) -> list[dict[str, Any]]:
    """One row per size, one column per setting (the markdown table)."""
    settings = list(dict.fromkeys(r.setting for r in rates))
    by_size: dict[int, dict[str, str]] = {}
    for r in sorted(rates, key=lambda r: r.train_size):
        by_size.setdefault(r.train_size, {})[r.setting] = _exchange_text(r)
    return [
        {"train_size": f"{size:,}", **{s: found.get(s, "") for s in settings}}
        for size, found in by_size.items()
    ]


def class_rows(compared: Sequence[Comparison]) -> list[dict[str, Any]] | None:
    """Per setting and size: the classes helped and hurt most; None if none was recorded."""
    rows = []
    for comp in compared:
        diffs = comp.class_diffs()
        if diffs is None:
            continue
        # Largest effects first; equal ones in class order.
        hurt = sorted(((c, d) for c, d in diffs.items() if d < 0), key=lambda i: (i[1], i[0]))
        helped = sorted(((c, d) for c, d in diffs.items() if d > 0), key=lambda i: (-i[1], i[0]))
        rows.append(
            {
                "setting": comp.cell.setting,
                "train_size": comp.cell.train_size,
                "hurt most": _classes(comp, hurt[:TOP_CLASSES]),
                "helped most": _classes(comp, helped[:TOP_CLASSES]),
                "pairs": len(comp.diffs),
            }
        )
    return rows or None


def shift_accuracy_rows(shifted: Shifted, by_subset: bool = False) -> list[dict[str, Any]]:
    """Per setting and size: clean and shifted accuracy (mean ± std, interval) of its jobs."""
    rows = []
    for c in shifted.cells:
        ci, clean = c.interval, shifted.clean_mean(c)
        row = {
            "setting": c.setting,
            "train_size": c.train_size,
            "clean acc": "" if clean is None else f"{clean:.4f}",
            "shifted acc": f"{c.mean:.4f}" + ("" if c.std is None else f" ± {c.std:.4f}"),
            f"{LEVEL:.0%} CI": _no_interval(ci.n)
            if ci.low is None
            else f"[{ci.low:.4f}, {ci.high:.4f}]",
            "drop (pts)": "" if clean is None else f"{100 * (clean - c.mean):.2f}",
            "seeds": len(set(c.seeds)) if by_subset else len(c.accs),
        }
        if by_subset:
            row["subsets"] = len(c.subset_seeds)
        rows.append(row)
    return rows


def corruption_rows(shifted: Shifted) -> list[dict[str, Any]]:
    """Per setting and size: each corruption's accuracy, the mean over its jobs (plain)."""
    return [
        {"setting": c.setting, "train_size": c.train_size, **shifted.corruption_means(c)}
        for c in shifted.cells
    ]


def shift_section(
    shifted: Shifted, by_subset: bool = False
) -> tuple[list[str], dict[str, list[dict[str, Any]]]]:
    """The "Under shift" section: per setting and size the accuracy over the corruption
    suite and under each corruption, the paired difference to ``off``, the exchange rate
    read on the shifted accuracy, and the corruptions each setting helps and hurts most."""
    table_cells = shifted.cells
    compared = comparisons(table_cells)
    rates = exchange_rates(table_cells)
    per_corruption = corruption_rows(shifted)
    helped = class_rows(compared)
    tables: dict[str, list[dict[str, Any]]] = {
        "shift_accuracy": shift_accuracy_rows(shifted, by_subset),
        "shift_corruptions": per_corruption,
        "shift_difference": difference_rows(compared, by_subset, "shifted acc"),
        "shift_exchange_rate": _exchange_plain(rates),
        "shift_helped_hurt": helped or [],
    }
    runs = "training subsets and seeds" if by_subset else "seeds"
    pairs = "(subset seed, seed) runs" if by_subset else "seeds"
    lines = [
        "## Under shift",
        "",
        f"{shifted.evaluated} finished jobs tested on the corruption suite `{shifted.suite}` "
        f"({len(shifted.corruptions)} corruptions, seed {shifted.seed}; "
        f"{_sources_text(shifted.sources)}). A job's shifted accuracy is its mean accuracy "
        f"over the corruptions; per setting and size, the mean ± sample std over the {runs}, "
        f"with its {LEVEL:.0%} Student-t interval, beside the same jobs' clean test accuracy."
        + _left_out_text(shifted.left_out),
        "",
        _table(tables["shift_accuracy"]),
        "",
        "### Per corruption",
        "",
        "Accuracy (%) under each corruption (its severity in brackets), the mean over the "
        "jobs of each setting and size.",
        "",
        _table(_corruption_table(shifted, per_corruption)),
        "",
        "### Difference to off under shift",
        "",
    ]
    if not compared:
        lines += ["Nothing to compare: no setting besides `off` was tested under shift.", ""]
    elif all(comp.base is None for comp in compared):
        lines += ["No `off` job tested under shift at these sizes: nothing to compare with.", ""]
    else:
        lines += [
            "Each setting's shifted accuracy minus `off`'s, in percentage points, over the "
            f"{pairs} both ran at the same size and other overrides; {LEVEL:.0%} Student-t "
            "interval of those paired differences. `*`: the interval excludes 0.",
            "",
            _table(tables["shift_difference"]),
            "",
        ]
    lines += _exchange_section(
        table_cells, rates, "### Exchange rate under shift", "shifted accuracy"
    )
    lines += ["### Corruptions helped and hurt most", ""]
    if helped is None:
        lines += ["No paired `off` jobs tested under shift: nothing to compare with.", ""]
    else:
        lines += [
            f"Per corruption: accuracy minus `off`'s in points, the mean over paired {pairs}; "
            f"the {TOP_CLASSES} corruptions each setting hurts and helps most.",
            "",
            _table(helped),
            "",
        ]
    return lines, tables


def _sources_text(sources: Sequence[str]) -> str:
    if list(sources) == ["mnist_c files"]:
        return "MNIST-C's released files"
    if list(sources) == ["generated"]:
        return "images generated from each test set by `auglab.shift`"
    return "MNIST-C's released files where present, images generated by `auglab.shift` otherwise"


def _left_out_text(left_out: int) -> str:
    if not left_out:
        return ""
    jobs = "job has" if left_out == 1 else "jobs have"
    return (
        f" {left_out} finished {jobs} no results of this suite, left out here: "
        "`python -m auglab.evaluate <sweep dir>` tests them."
    )


def _corruption_table(shifted: Shifted, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    shown = []
    for row in rows:
        out = {"setting": row["setting"], "train_size": row["train_size"]}
        for name in shifted.corruptions:
            value = row.get(name)
            level = shifted.severity.get(name)
            header = name if level is None else f"{name} ({level})"
            out[header] = "" if value is None else f"{100 * value:.1f}"
        shown.append(out)
    return shown


def _exchange_plain(rates: Sequence[Exchange]) -> list[dict[str, Any]]:
    return [
        {
            "setting": r.setting,
            "train_size": r.train_size,
            "real_images": r.real,
            "ratio": r.ratio,
            "bound": r.bound or "",
        }
        for r in rates
    ]


def report_markdown(
    sweep_dir: Path,
    table_cells: Sequence[Cell],
    n_jobs: int,
    missing: Sequence[PlannedJob] | None,
    failed: Sequence[JobRecord] = (),
    select: str | None = None,
    tuned: Sequence[str] = (),
    shifted: Shifted | None = None,
) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """The report's text and its tables (by name, as rows).

    ``n_jobs``: the finished jobs; ``missing``: the planned jobs neither finished, failed
    nor diverged (None: the sweep dir has no plan, the expected jobs are unknown);
    ``tuned``: the keys ``select`` chose among; ``shifted``: the jobs' results on the
    corruption suite (``analysis.under_shift``), None when no job has any.
    """
    compared = comparisons(table_cells)
    rates = exchange_rates(table_cells)
    tables: dict[str, list[dict[str, Any]]] = {"accuracy": accuracy_rows(table_cells)}
    expected = "" if missing is None else f" of {n_jobs + len(missing) + len(failed)} expected"
    by_subset = varies_subsets(table_cells)
    runs = "training subsets (`data.subset_seed`) and seeds" if by_subset else "seeds"
    lines = [
        f"# Sweep report: {sweep_dir.name}",
        "",
        f"{n_jobs} finished jobs{expected}. Test accuracy is the mean ± sample std over "
        f"the {runs} of each setting and training-set size, with its {LEVEL:.0%} Student-t "
        "interval.",
        "",
    ]
    if not table_cells:
        lines += ["No finished job: nothing to report yet.", "", *_unfinished(missing, failed)]
        return "\n".join(lines), tables
    if select is not None:
        lines += [_selection_note(select, tuned), ""]
    lines += [
        f"![Test accuracy and exchange rate by training-set size]({REPORT_PNG})",
        "",
        _table(tables["accuracy"]),
        "",
    ]
    tables["difference"] = difference_rows(compared, by_subset)
    lines += ["## Difference to off", ""]
    if not compared:
        lines += ["Nothing to compare: the sweep has no setting besides `off`.", ""]
    elif all(comp.base is None for comp in compared):
        lines += ["No `off` job at any size of the other settings: nothing to compare with.", ""]
    else:
        lines += [_difference_note(by_subset), "", _table(tables["difference"]), ""]
    if by_subset:
        shown, tables["variance"] = spread_tables(spreads(table_cells))
        lines += _spread_section(shown)
    lines += _exchange_section(table_cells, rates)
    tables["exchange_rate"] = _exchange_plain(rates)
    per_class = class_rows(compared)
    pairs = "(subset seed, seed) runs" if by_subset else "seeds"
    tables["per_class"] = per_class or []
    lines += ["## Per-class effects", ""]
    if not compared:
        lines += ["Nothing to compare: the sweep has no setting besides `off`.", ""]
    elif all(comp.base is None for comp in compared):
        lines += ["No paired `off` jobs: nothing to compare with.", ""]
    elif per_class is None:
        lines += [
            "Per-class test accuracy not recorded (records written before `test_class_acc`).",
            "",
        ]
    else:
        lines += [
            f"Per class: test accuracy minus `off`'s in points, the mean over paired {pairs}; "
            f"the {TOP_CLASSES} classes each setting hurts and helps most. An augmentation that "
            "helps the mean can cost single classes (Balestriero et al. 2022).",
            "",
            _table(per_class),
            "",
        ]
    if shifted is not None:
        shift_lines, shift_tables = shift_section(shifted, by_subset)
        lines += shift_lines
        tables.update(shift_tables)
    lines += _unfinished(missing, failed)
    return "\n".join(lines), tables


def _difference_note(by_subset: bool) -> str:
    if not by_subset:
        return (
            "Each setting's test accuracy minus `off`'s, in percentage points, over the seeds "
            "both ran at the same size and other overrides (so the same validation split and "
            f"initial weights); {LEVEL:.0%} Student-t interval of those paired differences. "
            "`*`: the interval excludes 0."
        )
    return (
        "Each setting's test accuracy minus `off`'s, in percentage points, over the (subset "
        "seed, seed) pairs both ran at the same size and other overrides (so the same training "
        f"images, validation split and initial weights); {LEVEL:.0%} Student-t interval over all "
        "those pairs, taken as independent (pairs that share a subset or a seed are not quite). "
        "`*`: the interval excludes 0."
    )


def _spread_section(shown: Sequence[dict[str, Any]]) -> list[str]:
    lines = ["## Subset or seed", ""]
    if not shown:
        return [
            *lines,
            "No setting and size ran 2 subsets x 2 seeds or more: the spread cannot be split.",
            "",
        ]
    return [
        *lines,
        "How much of the spread of test accuracy comes from which images were drawn "
        "(`data.subset_seed`) and how much from the seed: two-way random-effects ANOVA over "
        "the subset seeds x seeds each setting and size ran in full. Each part is a standard "
        "deviation in points with its share of the variance; residual is the subset x seed "
        "interaction and noise, which one run per pair cannot tell apart.",
        "",
        _table(shown),
        "",
    ]


def _component(split: VarianceSplit, variance: float) -> str:
    """``1.23 (45%)``: the standard deviation in points and the share of the variance."""
    share = split.share(variance)
    sd = f"{100 * math.sqrt(variance):.2f}"
    return sd if share is None else f"{sd} ({share:.0%})"


def _unfinished(missing: Sequence[PlannedJob] | None, failed: Sequence[JobRecord]) -> list[str]:
    """The "Missing jobs" and "Failed and diverged jobs" sections."""
    lines: list[str] = []
    if missing:
        lines += [f"## Missing jobs ({len(missing)})", ""]
        lines += [
            f"- job {m.entry.job_num}: `{' '.join(m.entry.overrides)}` ({_why_missing(m)})"
            for m in missing
        ]
        lines.append("")
    elif missing is None:
        lines += [
            f"Expected jobs unknown: no {PLAN_FILE} (a sweep dir from before plans): "
            "every job record in it is reported.",
            "",
        ]
    if failed:
        lines += [f"## Failed and diverged jobs ({len(failed)}), left out of the means", ""]
        lines += [f"- {r.failure_line()}" for r in failed]
        lines.append("")
    return lines


def _why_missing(job: PlannedJob) -> str:
    """``running elsewhere: host pid 123 since 13:20:01``, ``not started``..."""
    state = job.state
    if state == "running elsewhere" and job.holder is not None:
        return f"{state}: {job.holder.describe()}"
    if state == "stopped":
        return "stopped: started, then its process died; a rerun resumes it"
    if state == "interrupted":
        error = job.record.error if job.record is not None else None
        return f"interrupted: {error}" if error else "interrupted; a rerun resumes it"
    if state == "not started" and job.entry.error:
        return f"not started; its config does not compose: {job.entry.error}"
    return state


def _selection_note(select: str, tuned: Sequence[str]) -> str:
    if not tuned:
        return (
            f"Selection by {select} asked for, but no override varies besides size, preset and "
            "seed: nothing to choose."
        )
    keys = ", ".join(f"`{k}`" for k in tuned)
    better = "lowest" if "loss" in select else "highest"
    return (
        f"Tuned: each setting at its own {keys}, chosen per size and seed by the {better} "
        f"{select} (the `chosen` column); the test set never chooses. Paired differences "
        "compare each setting's choice with `off`'s own."
    )


def _exchange_section(
    table_cells: Sequence[Cell],
    rates: Sequence[Exchange],
    heading: str = "## Exchange rate",
    metric: str = "test accuracy",
) -> list[str]:
    lines = [heading, ""]
    if not any(c.aug == OFF for c in table_cells):
        return [*lines, "No `off` jobs: no curve of real images to read the exchange rate off.", ""]
    if not rates:
        return [*lines, "No setting besides `off`: nothing to exchange.", ""]
    lines += [
        "How many real, un-augmented images each setting is worth: the training-set size at "
        f"which `off`'s mean {metric}, interpolated linearly in log size, reaches the "
        "setting's mean (Geiping et al. 2023). `beyond N`: better than `off` at its largest "
        "size N (how much beyond, the sweep cannot tell); `below N`: worse than `off` at its "
        "smallest.",
    ]
    example = next((r for r in rates if r.bound is None), None)
    if example is not None:
        lines += [
            f"Read: at {example.train_size:,} images, {example.setting} "
            f"≈ {_count(_two_digits(example.real))} real images (x{example.ratio:.2g})."
        ]
    for others, curve in off_curves(table_cells).items():
        raw = {c.train_size: c.mean for c in table_cells if c.aug == OFF and c.others == others}
        pooled = [f"{int(s):,}" for s, a in curve if abs(raw[int(s)] - a) > 1e-12]
        if pooled:
            label = ", ".join([OFF, *others])
            lines += [
                f"`{label}` is not monotone in size: its mean accuracy dips, so the curve read "
                f"is its non-decreasing least-squares fit (isotonic, weighted by seeds), which "
                f"pools the sizes {' and '.join(pooled)}.",
            ]
    lines += ["", _table(exchange_rows(rates)), ""]
    return lines


def _exchange_text(rate: Exchange) -> str:
    """``≈ 3,200 (x3.2)``, ``beyond 10,000`` or ``below 100``."""
    if rate.bound is not None:
        return f"{rate.bound} {_count(rate.limit)}"
    return f"≈ {_count(_two_digits(rate.real))} (x{rate.ratio:.2g})"


def _table(rows: Sequence[dict[str, Any]]) -> str:
    return tabulate(rows, headers="keys", tablefmt="github", disable_numparse=True)


def _no_interval(n: int, what: str = "seed") -> str:
    return f"{n} {what}{'s' if n != 1 else ''}: no interval"


def _signed(value: float, digits: int = 2) -> str:
    """``+1.50`` / ``−2.10`` (a real minus sign); ``0.00`` for a zero."""
    text = f"{abs(value):.{digits}f}"
    if float(text) == 0:
        return text
    return ("+" if value > 0 else MINUS) + text


def _classes(comp: Comparison, items: Sequence[tuple[int, float]]) -> str:
    return ", ".join(f"{comp.class_name(c)}: {_signed(100 * d, 1)} pts" for c, d in items) or "none"


def _chosen(chosen: Sequence[str]) -> str:
    counts = Counter(chosen)
    if len(counts) == 1:
        return chosen[0]
    return ", ".join(f"{value} ×{n}" for value, n in counts.most_common())


def _two_digits(value: float) -> float:
    """Two significant digits (2,713 -> 2,700): the interpolation is no more precise."""
    if value >= 100:
        return float(f"{value:.2g}")
    return float(round(value))


def _count(value: float) -> str:
    return f"{int(round(value)):,}"
