"""``report.md``: per setting and size, test accuracy over seeds with a 95% interval, the
paired difference to ``off``, how much of the spread the training subset makes (when the
sweep varies ``data.subset_seed``), ``off``'s fitted learning curve, the exchange rate read
off it, the head-to-head of the leading settings, strengths picked at the edge of their
grid, and the classes helped and hurt most;
"Under shift", the same on the corruption suite when jobs were tested on it
(``python -m auglab.evaluate``); then the jobs that are not in the results yet, so a partial
sweep never reads as a whole one.

It renders the analysed result (``auglab.report.result``) and computes nothing itself.
"""

from __future__ import annotations

from auglab.report.fit_sections import (
    best_note,
    curve_section,
    edges_section,
    exchange_section,
    head_to_head_section,
)
from auglab.report.jobs_section import unfinished
from auglab.report.result import SweepResult
from auglab.report.sections import (
    class_section,
    difference_section,
    selection_note,
    spread_section,
)
from auglab.report.shift_section import shift_section
from auglab.report.tables import accuracy_rows, table
from auglab.stats import LEVEL

REPORT_MD, REPORT_PNG = "report.md", "report.png"


def report_markdown(result: SweepResult) -> str:
    """The report's text."""
    by_subset = result.by_subset
    expected = "" if result.expected is None else f" of {result.expected} expected"
    runs = "training subsets (`data.subset_seed`) and seeds" if by_subset else "seeds"
    lines = [
        f"# Sweep report: {result.name}",
        "",
        f"{result.finished} finished jobs{expected}. Test accuracy is the mean ± sample std "
        f"over the {runs} of each setting and training-set size, with its {LEVEL:.0%} "
        f"Student-t interval{over_subsets(by_subset)}.",
        "",
    ]
    if not result.cells:
        lines += ["No finished job: nothing to report yet.", ""]
        return "\n".join([*lines, *unfinished(result.missing, result.failed)])
    if result.select is not None:
        lines += [selection_note(result.select, result.tuned), ""]
    lines += [
        f"![Test accuracy and exchange rate by training-set size]({REPORT_PNG})",
        "",
        table(accuracy_rows(result.cells, by_subset, best_cells(result))),
        "",
        *([best_note(result.head_to_head), ""] if best_note(result.head_to_head) else []),
        *difference_section(result.compared, by_subset),
    ]
    if by_subset:
        lines += spread_section(result.spreads)
    lines += curve_section(result.compared.exchange)
    lines += exchange_section(result.compared.exchange)
    lines += head_to_head_section(result.head_to_head)
    lines += edges_section(result.edges)
    lines += class_section(result.compared, by_subset)
    if result.shifted is not None:
        lines += shift_section(result.shifted, by_subset)
    lines += unfinished(result.missing, result.failed)
    return "\n".join(lines)


def best_cells(result: SweepResult) -> set[tuple[str, int]]:
    """(setting, size) of each size's validation pick, where there was a choice."""
    return {(b.setting, b.train_size) for b in result.head_to_head.leaders if b.runner_up}


def over_subsets(by_subset: bool) -> str:
    if not by_subset:
        return ""
    return (
        " over the subset means (each subset's jobs averaged over its seeds first: "
        "n_subsets − 1 degrees of freedom; a cell on one subset: over its seeds)"
    )
