"""The sweep report: what each augmentation setting is worth, at which training-set size.

``python -m auglab.report <sweep_dir>`` rebuilds ``summary.csv``/``summary.md``,
``report.md`` and ``report.png`` from the job records, also while a sweep runs or
after it was interrupted: finished jobs are reported, failed and diverged ones are
listed (never averaged), and the combinations still missing are listed, from the
sweep overrides Hydra saved in ``multirun.yaml`` when the sweep started.

``report.md`` holds, per setting and size: test accuracy over seeds with a 95%
interval; the paired difference to ``off``; the exchange rate (how many real
un-augmented images the setting is worth); the classes it helps and hurts most.
With ``--select val/acc_best``, every other swept key (a learning rate...) is
tuned per setting, size and seed on validation accuracy before anything is compared.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import statistics
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf
from tabulate import tabulate

from auglab import plots
from auglab.errors import ConfigError
from auglab.record import RECORD_FILE, JobRecord, selection_metric, sweep_records
from auglab.stats import (
    LEVEL,
    Bound,
    Interval,
    equivalent_size,
    monotone_curve,
    paired,
    t_interval,
)
from auglab.summary import job_overrides, parse_override, varying_keys, write_summary

log = logging.getLogger(__name__)

REPORT_MD, REPORT_PNG = "report.md", "report.png"
SWEEP_CONFIG = "multirun.yaml"
#: Overrides that place a job on the plot (x, line, seed) rather than name another setting.
PLACED_BY = ("data.size", "seed", "aug", "data.synthetic_size")
#: The reference setting: no augmentation, real images only.
OFF = "off"
#: Classes listed per setting and size in "Per-class effects", each way.
TOP_CLASSES = 3
MINUS = "\u2212"


@dataclass(frozen=True)
class Cell:
    """The jobs of one setting at one training-set size: one point of the plot.

    ``setting`` is the full label: the augmentation (``aug``) plus any other override
    the jobs differ in (``others``, e.g. ``optim=sgd``). With a selection, ``chosen``
    names, for each job, the values of the tuned overrides it was chosen for.
    """

    setting: str
    train_size: int
    jobs: tuple[JobRecord, ...]
    aug: str = ""
    others: tuple[str, ...] = ()
    chosen: tuple[str, ...] = ()

    @property
    def accs(self) -> tuple[float, ...]:
        return tuple(float(j.test_acc) for j in self.jobs)

    @property
    def losses(self) -> tuple[float, ...]:
        return tuple(float(j.test_loss) for j in self.jobs if j.test_loss is not None)

    @property
    def seeds(self) -> tuple[Any, ...]:
        return tuple(j.seed for j in self.jobs)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.accs)

    @property
    def std(self) -> float | None:
        """Sample standard deviation over seeds; None for a single run."""
        return statistics.stdev(self.accs) if len(self.accs) > 1 else None

    @property
    def interval(self) -> Interval:
        return t_interval(self.accs)

    def by_seed(self) -> dict[Any, JobRecord]:
        """The job of each seed (the first, should a seed appear twice)."""
        found: dict[Any, JobRecord] = {}
        for job in self.jobs:
            if job.seed is not None:
                found.setdefault(job.seed, job)
        return found


@dataclass(frozen=True)
class Comparison:
    """A setting against ``off`` at the same size and other overrides, paired by seed."""

    cell: Cell
    base: Cell | None
    diffs: dict[Any, float] = field(default_factory=dict)  # seed -> test acc difference

    @property
    def interval(self) -> Interval | None:
        return t_interval(list(self.diffs.values())) if self.diffs else None

    def class_diffs(self) -> dict[int, float] | None:
        """Per class index: mean over paired seeds of the test-accuracy difference.

        None when no pair has per-class accuracies recorded on both sides.
        """
        if self.base is None:
            return None
        ours, theirs = self.cell.by_seed(), self.base.by_seed()
        sums: dict[int, list[float]] = {}
        recorded = False
        for seed in self.diffs:
            a, b = ours[seed].test_class_acc, theirs[seed].test_class_acc
            if a is None or b is None or len(a) != len(b):
                continue
            recorded = True
            for c, (x, y) in enumerate(zip(a, b, strict=True)):
                if x is not None and y is not None:
                    sums.setdefault(c, []).append(float(x) - float(y))
        if not recorded:
            return None
        return {c: statistics.fmean(values) for c, values in sorted(sums.items())}

    def class_name(self, index: int) -> str:
        """The recorded class name (older records have none: the index)."""
        jobs = self.cell.jobs + (self.base.jobs if self.base else ())
        names = next((j.class_names for j in jobs if j.class_names), None)
        return str(names[index]) if names and index < len(names) else str(index)


@dataclass(frozen=True)
class Exchange:
    """How many real un-augmented images one setting's mean accuracy at one size is worth."""

    setting: str
    train_size: int
    real: float | None  # interpolated size on off's curve; None when out of its range
    bound: Bound | None  # "beyond" off's largest size, or "below" its smallest
    limit: float  # off's largest (beyond) or smallest (below) size, else ``real``

    @property
    def ratio(self) -> float | None:
        return None if self.real is None else self.real / self.train_size

    def text(self) -> str:
        if self.bound is not None:
            return f"{self.bound} {_count(self.limit)}"
        return f"≈ {_count(_two_digits(self.real))} (x{self.ratio:.2g})"


@dataclass(frozen=True)
class MissingJob:
    job_num: int
    overrides: tuple[str, ...]
    started: bool  # it has a record that says "running": in progress, or its process died


@dataclass
class Report:
    """What ``make_report`` wrote: the markdown, the summary table, and the tables by name
    (rows of plain values, also logged to the W&B report run); ``jobs``: every record read."""

    text: str
    summary: str | None
    tables: dict[str, list[dict[str, Any]]]
    png: Path
    jobs: list[JobRecord]
    select: str | None = None


def setting_label(job: JobRecord) -> str:
    """``off``, ``on``, ``on x0.5`` (strength), plus `` synthetic N``; from the record.

    Older files lack ``aug``/``aug_strength``/``synthetic_size``: the job's
    overrides stand in, then the defaults of ``conf/train.yaml`` (aug off, strength 1).
    """
    overrides = dict(parse_override(o) for o in job.overrides)
    aug = job.aug or overrides.get("aug") or "off"
    strength = job.aug_strength if job.aug_strength is not None else overrides.get("aug.strength")
    strength = 1.0 if strength in (None, "", "null") else float(strength)
    if aug == "off" or strength == 0:
        label = OFF
    elif strength == 1:
        label = str(aug)
    else:
        label = f"{aug} x{strength:g}"
    synthetic = (
        job.synthetic_size
        if job.synthetic_size is not None
        else overrides.get("data.synthetic_size")
    )
    if synthetic not in (None, "", "null"):
        label += f" synthetic {int(float(synthetic))}"
    return label


def cells(jobs: Sequence[JobRecord], select: str | None = None) -> list[Cell]:
    """Finished jobs grouped by setting and training-set size; seeds of a group are averaged.

    Any other override the jobs differ in (``optim=sgd``...) is part of the setting,
    so runs of different recipes are never averaged together. Failed and diverged
    jobs have no accuracy to average: they are left out (the report lists them).

    With ``select`` (a validation metric), those other overrides are tuned instead:
    for each setting, size and seed the job with the best ``select`` value stands for
    all of them (ties: the earlier job), and ``Cell.chosen`` says which values won.
    """
    jobs = [j for j in jobs if j.ok]
    overrides = job_overrides(jobs)
    other = other_keys(overrides)
    entries: list[tuple[JobRecord, str, tuple[str, ...]]] = []
    for job, job_values in zip(jobs, overrides, strict=True):
        if job.train_size is None or job.test_acc is None:
            log.warning("Job %s has no train_size or test_acc: left out", job.job_num)
            continue
        values = tuple(f"{k}={job_values[k]}" for k in other if k in job_values)
        entries.append((job, setting_label(job), values))
    select = selection_metric(select)
    groups: dict[tuple[str, tuple[str, ...], int], list[tuple[JobRecord, str]]] = {}
    if select is None or not other:
        for job, aug, values in entries:
            groups.setdefault((aug, values, int(job.train_size)), []).append((job, ""))
    else:
        for (aug, size), picks in _select(entries, select).items():
            groups[aug, (), size] = picks
    result = [
        Cell(
            setting=", ".join([aug, *values]),
            train_size=size,
            jobs=tuple(job for job, _ in group),
            aug=aug,
            others=values,
            chosen=tuple(chosen for _, chosen in group) if select and other else (),
        )
        for (aug, values, size), group in groups.items()
    ]
    return sorted(result, key=lambda c: (c.aug != OFF, c.setting, c.train_size))


def other_keys(overrides: Sequence[dict[str, str]]) -> list[str]:
    """Swept keys that name another recipe (``optim.lr``), not a place on the plot."""
    return [k for k in varying_keys(overrides) if not k.startswith(PLACED_BY)]


def _select(
    entries: Sequence[tuple[JobRecord, str, tuple[str, ...]]], metric: str
) -> dict[tuple[str, int], list[tuple[JobRecord, str]]]:
    """Per (setting, size): for each seed, the job whose ``metric`` is best, and its values."""
    higher = "loss" not in metric
    candidates: dict[tuple[str, int, Any], list[tuple[JobRecord, str]]] = {}
    for job, aug, values in entries:
        key = (aug, int(job.train_size), job.seed)
        if job.metric(metric) is None:
            log.warning("Job %s has no %s: it cannot be chosen", job.job_num, metric)
            continue
        candidates.setdefault(key, []).append((job, " ".join(values) or "defaults"))
    picked: dict[tuple[str, int], list[tuple[JobRecord, str]]] = {}
    for (aug, size, _seed), group in candidates.items():
        best = max(group, key=lambda item: item[0].metric(metric) * (1 if higher else -1))
        picked.setdefault((aug, size), []).append(best)
    return picked


def comparisons(table_cells: Sequence[Cell]) -> list[Comparison]:
    """Each setting other than ``off`` against ``off`` at its size and other overrides."""
    bases = {(c.others, c.train_size): c for c in table_cells if c.aug == OFF}
    result = []
    for cell in table_cells:
        if cell.aug == OFF:
            continue
        base = bases.get((cell.others, cell.train_size))
        diffs: dict[Any, float] = {}
        if base is not None:
            ours = {seed: float(j.test_acc) for seed, j in cell.by_seed().items()}
            theirs = {seed: float(j.test_acc) for seed, j in base.by_seed().items()}
            diffs = paired(ours, theirs)
        result.append(Comparison(cell, base, diffs))
    return result


def off_curves(table_cells: Sequence[Cell]) -> dict[tuple[str, ...], list[tuple[float, float]]]:
    """``off``'s non-decreasing accuracy curve for each set of other overrides."""
    points: dict[tuple[str, ...], list[Cell]] = {}
    for cell in table_cells:
        if cell.aug == OFF:
            points.setdefault(cell.others, []).append(cell)
    return {
        others: monotone_curve(
            [(c.train_size, c.mean) for c in group], [len(c.jobs) for c in group]
        )
        for others, group in points.items()
    }


def exchange_rates(table_cells: Sequence[Cell]) -> list[Exchange]:
    """For each setting and size: the real un-augmented images its mean accuracy is worth."""
    curves = off_curves(table_cells)
    result = []
    for cell in table_cells:
        curve = curves.get(cell.others)
        if cell.aug == OFF or curve is None:
            continue
        real = equivalent_size(curve, cell.mean)
        if real == "beyond":
            result.append(Exchange(cell.setting, cell.train_size, None, "beyond", curve[-1][0]))
        elif real == "below":
            result.append(Exchange(cell.setting, cell.train_size, None, "below", curve[0][0]))
        else:
            result.append(Exchange(cell.setting, cell.train_size, real, None, real))
    return result


def expected_jobs(sweep_dir: Path) -> list[tuple[str, ...]] | None:
    """Every job the sweep was started for, in Hydra's job order; None if unknown.

    Reads the overrides saved in ``multirun.yaml`` and expands them with Hydra's
    own override parser, as its basic sweeper does (sweeper params first, then the
    command line; every combination of the swept values).
    """
    path = sweep_dir / SWEEP_CONFIG
    if not path.is_file():
        return None
    cfg = OmegaConf.load(path)
    params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()]
    arguments += list(OmegaConf.select(cfg, "hydra.overrides.task") or [])
    choices: dict[str, list[str]] = {}
    for override in OverridesParser.create().parse_overrides(arguments):
        key = override.get_key_element()
        if not override.is_sweep_override():
            choices[key] = [f"{key}={override.get_value_element_as_str()}"]
        elif override.is_discrete_sweep():
            choices[key] = [f"{key}={v}" for v in override.sweep_string_iterator()]
        else:  # an interval: chosen by an optimising sweeper, not enumerable
            return None
    return [tuple(combo) for combo in itertools.product(*choices.values())]


def configured_select(sweep_dir: Path) -> str | None:
    """The ``select`` the sweep's end-of-sweep callback was configured with, if any."""
    path = sweep_dir / SWEEP_CONFIG
    if not path.is_file():
        return None
    cfg = OmegaConf.load(path)
    return OmegaConf.select(cfg, "hydra.callbacks.sweep_summary.select", default=None)


def missing_jobs(sweep_dir: Path, jobs: Sequence[JobRecord]) -> list[MissingJob] | None:
    """Expected combinations with no ended record; None when the expected set is unknown."""
    expected = expected_jobs(sweep_dir)
    if expected is None:
        return None
    ended = {_key(job.overrides) for job in jobs if job.ended}
    started = {_key(job.overrides) for job in jobs if not job.ended}
    return [
        MissingJob(num, combo, _key(combo) in started)
        for num, combo in enumerate(expected)
        if _key(combo) not in ended
    ]


# ---- the markdown --------------------------------------------------------------------------


def accuracy_rows(table_cells: Sequence[Cell]) -> list[dict[str, Any]]:
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
            "seeds": len(c.accs),
        }
        if c.chosen:
            row["chosen"] = _chosen(c.chosen)
        rows.append(row)
    return rows


def difference_rows(compared: Sequence[Comparison]) -> list[dict[str, Any]]:
    rows = []
    for comp in compared:
        ci = comp.interval
        if ci is None:
            why = "no `off` job at this size" if comp.base is None else "no seed in common"
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
                "Δ test acc (pts)": diff,
                f"{LEVEL:.0%} CI": interval,
                "pairs": len(comp.diffs),
            }
        )
    return rows


def exchange_rows(rates: Sequence[Exchange]) -> list[dict[str, Any]]:
    """One row per size, one column per setting (the markdown table)."""
    settings = list(dict.fromkeys(r.setting for r in rates))
    by_size: dict[int, dict[str, str]] = {}
    for r in sorted(rates, key=lambda r: r.train_size):
        by_size.setdefault(r.train_size, {})[r.setting] = r.text()
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


def report_markdown(
    sweep_dir: Path,
    table_cells: Sequence[Cell],
    n_jobs: int,
    missing: Sequence[MissingJob] | None,
    failed: Sequence[JobRecord] = (),
    select: str | None = None,
    tuned: Sequence[str] = (),
) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """The report's text and its tables (by name, as rows); ``tuned``: the keys ``select``
    chose among."""
    compared = comparisons(table_cells)
    rates = exchange_rates(table_cells)
    tables: dict[str, list[dict[str, Any]]] = {"accuracy": accuracy_rows(table_cells)}
    expected = "" if missing is None else f" of {n_jobs + len(missing) + len(failed)} expected"
    lines = [
        f"# Sweep report: {sweep_dir.name}",
        "",
        f"{n_jobs} finished jobs{expected}. Test accuracy is the mean ± sample std over "
        f"the seeds of each setting and training-set size, with its {LEVEL:.0%} Student-t "
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
    tables["difference"] = difference_rows(compared)
    lines += ["## Difference to off", ""]
    if not compared:
        lines += ["Nothing to compare: the sweep has no setting besides `off`.", ""]
    elif all(comp.base is None for comp in compared):
        lines += ["No `off` job at any size of the other settings: nothing to compare with.", ""]
    else:
        lines += [
            "Each setting's test accuracy minus `off`'s, in percentage points, over the seeds "
            "both ran at the same size and other overrides (so the same validation split and "
            f"initial weights); {LEVEL:.0%} Student-t interval of those paired differences. "
            "`*`: the interval excludes 0.",
            "",
            _table(tables["difference"]),
            "",
        ]
    lines += _exchange_section(table_cells, rates)
    tables["exchange_rate"] = [
        {
            "setting": r.setting,
            "train_size": r.train_size,
            "real_images": r.real,
            "ratio": r.ratio,
            "bound": r.bound or "",
        }
        for r in rates
    ]
    per_class = class_rows(compared)
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
            f"Per class: test accuracy minus `off`'s in points, the mean over paired seeds; "
            f"the {TOP_CLASSES} classes each setting hurts and helps most. An augmentation that "
            "helps the mean can cost single classes (Balestriero et al. 2022).",
            "",
            _table(per_class),
            "",
        ]
    lines += _unfinished(missing, failed)
    return "\n".join(lines), tables


def _unfinished(missing: Sequence[MissingJob] | None, failed: Sequence[JobRecord]) -> list[str]:
    """The "Missing jobs" and "Failed and diverged jobs" sections."""
    lines: list[str] = []
    if missing:
        lines += [f"## Missing jobs ({len(missing)})", ""]
        lines += [
            f"- job {m.job_num}: `{' '.join(m.overrides)}`"
            + (
                " (started, not finished: running, or its process died)"
                if m.started
                else " (not started)"
            )
            for m in missing
        ]
        lines.append("")
    elif missing is None:
        lines += [f"Expected jobs unknown: no sweep overrides readable in {SWEEP_CONFIG}.", ""]
    if failed:
        lines += [f"## Failed and diverged jobs ({len(failed)}), left out of the means", ""]
        lines += [f"- {r.failure_line()}" for r in failed]
        lines.append("")
    return lines


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


def _exchange_section(table_cells: Sequence[Cell], rates: Sequence[Exchange]) -> list[str]:
    lines = ["## Exchange rate", ""]
    if not any(c.aug == OFF for c in table_cells):
        return [*lines, "No `off` jobs: no curve of real images to read the exchange rate off.", ""]
    if not rates:
        return [*lines, "No setting besides `off`: nothing to exchange.", ""]
    lines += [
        "How many real, un-augmented images each setting is worth: the training-set size at "
        "which `off`'s mean test accuracy, interpolated linearly in log size, reaches the "
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


# ---- writing ---------------------------------------------------------------------------------


def make_report(
    sweep_dir: Path, with_summary: bool = True, select: str | None = None
) -> Report | None:
    """Write ``report.md``/``report.png`` (and the summary) from the records; None if none."""
    sweep_dir = Path(sweep_dir)
    select = selection_metric(select)
    jobs = [record for _, record in sweep_records(sweep_dir)]
    if not jobs:
        return None
    summary = write_summary(sweep_dir, jobs) if with_summary else None
    finished = [j for j in jobs if j.ok]
    failed = [j for j in jobs if j.status in ("failed", "diverged")]
    table_cells = cells(finished, select)
    lines: dict[str, list[tuple[float, float, float | None]]] = {}
    for c in table_cells:
        lines.setdefault(c.setting, []).append((c.train_size, c.mean, c.std))
    exchange: dict[str, list[tuple[float, float, str | None]]] = {}
    for r in exchange_rates(table_cells):
        exchange.setdefault(r.setting, []).append((r.train_size, r.limit, r.bound))
    png = plots.save_png(plots.sweep_report_figure(lines, exchange), sweep_dir / REPORT_PNG)
    text, tables = report_markdown(
        sweep_dir,
        table_cells,
        len(finished),
        missing_jobs(sweep_dir, jobs),
        failed,
        select,
        tuned=other_keys(job_overrides(finished)),
    )
    (sweep_dir / REPORT_MD).write_text(text)
    return Report(text, summary, tables, png, jobs, select)


def write_report(
    sweep_dir: Path, with_summary: bool = True, select: str | None = None
) -> str | None:
    """Write ``report.md``/``report.png`` (and the summary); the report, None if no job finished."""
    report = make_report(sweep_dir, with_summary, select)
    return None if report is None else report.text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m auglab.report",
        description="Rebuild summary.csv/.md, report.md and report.png of a (possibly unfinished) sweep.",
    )
    parser.add_argument("sweep_dir", type=Path, help="e.g. logs/multiruns/2025-01-01_12-00-00")
    parser.add_argument(
        "--select",
        metavar="METRIC",
        default=None,
        help="tune every other swept key (optim.lr...) per setting, size and seed on this "
        "validation metric (val/acc_best) before comparing; default: as the sweep was "
        "configured (hydra.callbacks.sweep_summary.select); 'none': no tuning",
    )
    args = parser.parse_args(argv)
    try:
        sweep_dir = _check_sweep_dir(args.sweep_dir)
        select = configured_select(sweep_dir) if args.select is None else args.select
        report = make_report(sweep_dir, select=select)
        if report is None:
            raise ConfigError(
                f"no job record in {args.sweep_dir} (no */{RECORD_FILE}): wait for a job to start, or pass the sweep dir itself"
            )
    except ConfigError as err:
        print(f"auglab: error: {err}", file=sys.stderr)
        return 2
    print(report.text)
    return 0


def _check_sweep_dir(path: Path) -> Path:
    if not path.is_dir():
        raise ConfigError(
            f"sweep dir {path} does not exist: pass a folder of logs/multiruns/ (or your hydra.sweep.dir)"
        )
    return path


def _key(overrides: Sequence[str]) -> frozenset[tuple[str, str]]:
    """Overrides compared as (key, value) pairs: order and ``+`` prefixes do not matter."""
    return frozenset(parse_override(str(o)) for o in overrides)


if __name__ == "__main__":
    sys.exit(main())
