"""The report's tables, by name, as rows: what ``report.md`` shows (formatted cells) and what
the W&B report run and the W&B Report carry (``report_tables``). Only formatting here: every
number comes from the analysed result (``auglab.report.result``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from tabulate import tabulate

from auglab.report.fit_tables import (
    CI,
    curve_plain,
    edge_plain,
    pair_plain,
    rate_plain,
    signed,
)
from auglab.report.result import (
    CellResult,
    Difference,
    ShiftResult,
    Spread,
    SpreadPart,
    SweepResult,
)


def report_tables(result: SweepResult) -> dict[str, list[dict[str, Any]]]:
    """The tables by name, in the report's order (the W&B Report makes a section of each)."""
    by_subset = result.by_subset
    best = {(b.setting, b.train_size) for b in result.head_to_head.leaders if b.runner_up}  # bold
    tables: dict[str, list[dict[str, Any]]] = {
        "accuracy": accuracy_rows(result.cells, by_subset, best)
    }
    if not result.cells:
        return tables
    tables["difference"] = difference_rows(result.compared.differences, by_subset)
    if by_subset:
        tables["variance"] = spread_plain(result.spreads)
    tables["learning_curve"] = curve_plain(result.compared.exchange.curves)
    tables["exchange_rate"] = rate_plain(result.compared.exchange.rates)
    tables["head_to_head"] = pair_plain(result.head_to_head.pairs)
    tables["strength_edges"] = edge_plain(result.edges)
    tables["per_class"] = class_rows(result.compared.differences) or []
    if result.shifted is not None:
        shifted = result.shifted
        tables["shift_accuracy"] = shift_accuracy_rows(shifted, by_subset)
        tables["shift_corruptions"] = corruption_plain(shifted)
        tables["shift_difference"] = difference_rows(
            shifted.compared.differences, by_subset, "shifted acc"
        )
        tables["shift_exchange_rate"] = rate_plain(shifted.compared.exchange.rates)
        tables["shift_helped_hurt"] = class_rows(shifted.compared.differences) or []
    return tables


def accuracy_rows(
    cells: Sequence[CellResult],
    by_subset: bool = False,
    best: Collection[tuple[str, int]] = (),
) -> list[dict[str, Any]]:
    """One row per cell; with several subsets, ``subsets`` and ``seeds`` count each;
    ``best`` (setting, size): the cells validation picks, in bold."""
    rows = []
    for c in cells:
        shown = mean_std(c)
        row = {
            "setting": c.setting,
            "train_size": c.train_size,
            "test_acc": f"**{shown}**" if (c.setting, c.train_size) in best else shown,
            CI: interval_text(c),
            "test_loss": "" if c.loss is None else f"{c.loss:.4f}",
            "seeds": c.seeds if by_subset else c.runs,
        }
        if by_subset:
            row = {**row, "subsets": c.subsets}
        if c.chosen:
            row["chosen"] = chosen_text(c.chosen)
        rows.append(row)
    return rows


def difference_rows(
    compared: Sequence[Difference], by_subset: bool = False, metric: str = "test acc"
) -> list[dict[str, Any]]:
    """One row per comparison; ``by_subset``: pairs are (subset seed, seed), not seeds."""
    common = "no (subset seed, seed) in common" if by_subset else "no seed in common"
    rows = []
    for comp in compared:
        ci = comp.interval
        if ci is None:
            diff, interval = ("no `off` job at this size" if not comp.has_base else common), ""
        else:
            diff = signed(100 * ci.mean) + (" *" if ci.excludes_zero else "")
            interval = (
                no_interval(ci.n, "pair")
                if ci.low is None
                else f"[{signed(100 * ci.low)}, {signed(100 * ci.high)}]"
            )
        rows.append(
            {
                "setting": comp.setting,
                "train_size": comp.train_size,
                f"Δ {metric} (pts)": diff,
                CI: interval,
                "pairs": comp.pairs,
            }
        )
    return rows


def spread_rows(found: Sequence[Spread]) -> list[dict[str, Any]]:
    """The subset / seed split as report.md shows it: each part's sd in points, its share."""
    return [
        {
            "setting": s.setting,
            "train_size": s.train_size,
            "subsets x seeds": f"{s.n_subsets} x {s.n_seeds}",
            **{part.name: component(part) for part in s.parts},
        }
        for s in found
    ]


def spread_plain(found: Sequence[Spread]) -> list[dict[str, Any]]:
    """The subset / seed split as plain values: each part's variance and share."""
    return [
        {
            "setting": s.setting,
            "train_size": s.train_size,
            "subsets": s.n_subsets,
            "seeds": s.n_seeds,
            **{f"{part.name}_var": part.variance for part in s.parts},
            **{f"{part.name}_share": part.share for part in s.parts},
        }
        for s in found
    ]


def class_rows(compared: Sequence[Difference]) -> list[dict[str, Any]] | None:
    """Per setting and size: the classes helped and hurt most; None if none was recorded."""
    rows = [
        {
            "setting": comp.setting,
            "train_size": comp.train_size,
            "hurt most": classes_text(comp.classes.hurt),
            "helped most": classes_text(comp.classes.helped),
            "pairs": comp.pairs,
        }
        for comp in compared
        if comp.classes is not None
    ]
    return rows or None


def shift_accuracy_rows(shifted: ShiftResult, by_subset: bool = False) -> list[dict[str, Any]]:
    """Per setting and size: clean and shifted accuracy (mean ± std, interval) of its jobs."""
    rows = []
    for s in shifted.cells:
        c = s.cell
        row = {
            "setting": c.setting,
            "train_size": c.train_size,
            "clean acc": "" if s.clean is None else f"{s.clean:.4f}",
            "shifted acc": mean_std(c),
            CI: interval_text(c),
            "drop (pts)": "" if s.drop is None else f"{100 * s.drop:.2f}",
            "seeds": c.seeds if by_subset else c.runs,
        }
        if by_subset:
            row["subsets"] = c.subsets
        rows.append(row)
    return rows


def corruption_plain(shifted: ShiftResult) -> list[dict[str, Any]]:
    """Per setting and size: each corruption's accuracy, the mean over its jobs."""
    return [
        {
            "setting": s.cell.setting,
            "train_size": s.cell.train_size,
            **dict(zip(shifted.corruptions, s.corruptions, strict=True)),
        }
        for s in shifted.cells
    ]


def corruption_rows(shifted: ShiftResult) -> list[dict[str, Any]]:
    """The same as report.md shows it: in %, each corruption's severity in its header."""
    shown = []
    for row in corruption_plain(shifted):
        out = {"setting": row["setting"], "train_size": row["train_size"]}
        for name in shifted.corruptions:
            value = row.get(name)
            level = shifted.severity.get(name)
            header = name if level is None else f"{name} ({level})"
            out[header] = "" if value is None else f"{100 * value:.1f}"
        shown.append(out)
    return shown


def table(rows: Sequence[dict[str, Any]]) -> str:
    """Rows as a GitHub markdown table, every cell as written."""
    return tabulate(rows, headers="keys", tablefmt="github", disable_numparse=True)


def mean_std(c: CellResult) -> str:
    return f"{c.mean:.4f}" + ("" if c.std is None else f" ± {c.std:.4f}")


def interval_text(c: CellResult) -> str:
    ci = c.interval
    return no_interval(ci.n) if ci.low is None else f"[{ci.low:.4f}, {ci.high:.4f}]"


def no_interval(n: int, what: str = "seed") -> str:
    return f"{n} {what}{'s' if n != 1 else ''}: no interval"


def component(part: SpreadPart) -> str:
    """``1.23 (45%)``: the standard deviation in points and the share of the variance."""
    sd = f"{100 * part.sd:.2f}"
    return sd if part.share is None else f"{sd} ({part.share:.0%})"


def classes_text(items: Sequence[tuple[str, float]]) -> str:
    return ", ".join(f"{name}: {signed(100 * d, 1)} pts" for name, d in items) or "none"


def chosen_text(chosen: Sequence[tuple[str, int]]) -> str:
    if len(chosen) == 1:
        return chosen[0][0]
    return ", ".join(f"{value} ×{n}" for value, n in chosen)
