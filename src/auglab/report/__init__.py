"""The sweep report: what each augmentation setting is worth, at which training-set size.

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
from auglab.report.effects import (
    Comparison,
    Exchange,
    comparisons,
    exchange_rates,
    off_curves,
    spreads,
    varies_subsets,
)
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
    "Exchange",
    "Report",
    "Shifted",
    "SweepResult",
    "analyse",
    "cells",
    "comparisons",
    "exchange_rates",
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
