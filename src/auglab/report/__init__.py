"""The sweep report: what each augmentation setting is worth, at which training-set size.

It is rebuilt from the sweep dir alone, so it can be made at any time: at the end of a
sweep, while one runs, or after one was interrupted (``python -m auglab.report DIR``).
The sweep dir's plan (``auglab.plan``) says which jobs the sweep is: finished ones are
analysed, the others listed by state, and records of an earlier grid in the same dir are
left out. A sweep dir from before plans has every record in it reported.
"""

from auglab.report.analysis import (
    OFF,
    PLACED_BY,
    Cell,
    Comparison,
    Exchange,
    Shifted,
    cells,
    comparisons,
    exchange_rates,
    off_curves,
    other_keys,
    setting_label,
    spreads,
    under_shift,
    varies_subsets,
)
from auglab.report.build import Report, make_report, shown_jobs, write_report
from auglab.report.cli import configured_select, main
from auglab.report.markdown import REPORT_MD, REPORT_PNG, report_markdown

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
    "cells",
    "comparisons",
    "configured_select",
    "exchange_rates",
    "main",
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
