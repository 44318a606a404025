"""The sweep report: what each augmentation or regularisation setting is worth, at which
training-set size: ``off``'s learning curve fitted as a power law (``exchange_fit``), the
exchange rates read off it with bootstrap intervals over training subsets, intervals over
subset means, the head-to-head of the settings validation leads with (Holm-corrected,
``head_to_head``) and strengths picked at the edge of their grid (``edges``).

It is rebuilt from the sweep dir alone, so it can be made at any time: at the end of a
sweep, while one runs, or after one was interrupted (``python -m auglab.report DIR``).
The sweep dir's plan (``auglab.plan``) says which jobs the sweep is: finished ones are
analysed, the others listed by state, and records of an earlier grid in the same dir are
left out. A sweep dir from before plans has every record in it reported.

One way through (``build.make_report``): load the jobs, analyse them once into one typed
result (``analysis.analyse`` -> ``result.SweepResult``), then render it: ``summary.*``
(``summary_table``), ``report.png`` (``auglab.plots``), ``report.md`` (``markdown``), the
tables by name (``tables``), and on request the W&B report run (``wandb_run``) and the W&B
Report (``wandb_report``), both sent where ``wandb_target`` says.
"""

from auglab.report.analysis import analyse
from auglab.report.build import Report, make_report, shown_jobs, write_report
from auglab.report.cells import OFF, PLACED_BY, Cell, cells, other_keys, setting_label
from auglab.report.edges import EdgeFlag, edge_flags
from auglab.report.effects import (
    Comparison,
    Exchange,
    comparisons,
    exchange_rates,
    off_curves,
    spreads,
    varies_subsets,
)
from auglab.report.exchange_fit import FittedExchange, OffCurve, Rate, fitted_exchange
from auglab.report.head_to_head import HeadToHead, Leader, Pair, head_to_head
from auglab.report.markdown import REPORT_MD, REPORT_PNG, report_markdown
from auglab.report.result import SweepResult
from auglab.report.shifted import Shifted, under_shift

__all__ = [
    "OFF",
    "PLACED_BY",
    "REPORT_MD",
    "REPORT_PNG",
    "Cell",
    "Comparison",
    "EdgeFlag",
    "Exchange",
    "FittedExchange",
    "HeadToHead",
    "Leader",
    "OffCurve",
    "Pair",
    "Rate",
    "Report",
    "Shifted",
    "SweepResult",
    "analyse",
    "cells",
    "comparisons",
    "edge_flags",
    "exchange_rates",
    "fitted_exchange",
    "head_to_head",
    "make_report",
    "off_curves",
    "other_keys",
    "report_markdown",
    "setting_label",
    "shown_jobs",
    "spreads",
    "under_shift",
    "varies_subsets",
    "write_report",
]
