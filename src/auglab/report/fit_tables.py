"""The rows of the report's newer tables: ``off``'s fitted learning curve, the exchange rates
read off it with their bootstrap intervals, the head-to-head tests among the leading
settings, and the strength-grid edges. Formatting only: the numbers are the result's."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from auglab.report.edges import EdgeFlag
from auglab.report.exchange_fit import OffCurve, Rate
from auglab.report.head_to_head import Pair
from auglab.stats import LEVEL

MINUS = "\u2212"
CI = f"{LEVEL:.0%} CI"

#: How each place on (or off) off's fitted curve reads in a table.
PLACE_TEXT = {
    "beyond": "extrapolated beyond off's largest size",
    "below": "extrapolated below off's smallest size",
    "unreachable": "beyond reach: below off's asymptote c",
    "flat": "off's fitted curve does not fall",
}


def curve_rows(curves: Sequence[OffCurve]) -> list[dict[str, Any]]:
    """Per off curve and size: the measured mean error and the fitted one."""
    rows = []
    for curve in curves:
        for size in curve.sizes:
            errors = [e for s, e in curve.points if s == size]
            rows.append(
                {
                    "curve": curve.label,
                    "train_size": f"{size:,}",
                    "jobs": len(errors),
                    "mean test error": f"{sum(errors) / len(errors):.4f}",
                    "fitted error": f"{float(curve.law.error(size)):.4f}",
                }
            )
    return rows


def curve_plain(curves: Sequence[OffCurve]) -> list[dict[str, Any]]:
    """Each fitted curve's form and parameters, as plain values."""
    return [
        {
            "curve": c.label,
            "form": c.law.form,
            "a": c.law.a,
            "b": c.law.b,
            "c": c.law.c,
            "sizes": len(c.sizes),
            "jobs": len(c.points),
        }
        for c in curves
    ]


def rate_rows(rates: Sequence[Rate]) -> list[dict[str, Any]]:
    """One row per setting and size: real images, ratio, bootstrap interval, flag."""
    return [
        {
            "setting": r.setting,
            "train_size": f"{r.train_size:,}",
            "real images": rate_text(r),
            f"{CI} (bootstrap)": bounds_text(r.low, r.high),
            "note": PLACE_TEXT.get(r.place, ""),
            "resampled": r.resampled,
        }
        for r in rates
    ]


def rate_plain(rates: Sequence[Rate]) -> list[dict[str, Any]]:
    return [
        {
            "setting": r.setting,
            "train_size": r.train_size,
            "test_error": r.error,
            "real_images": r.real,
            "ratio": r.ratio,
            "low": None if r.low is None or math.isinf(r.low) else r.low,
            "high": None if r.high is None or math.isinf(r.high) else r.high,
            "place": r.place,
            "extrapolated": r.extrapolated,
            "resampled": r.resampled,
        }
        for r in rates
    ]


def pair_rows(pairs: Sequence[Pair]) -> list[dict[str, Any]]:
    """One row per head-to-head pair: the test difference in points, its interval, the
    raw and Holm-adjusted p and whether it holds at the family's level."""
    rows = []
    for p in pairs:
        ci = p.diff
        rows.append(
            {
                "train_size": f"{p.train_size:,}",
                "pair (higher on val first)": f"{p.first} vs {p.second}",
                "Δ val (pts)": signed(100 * p.val_gap),
                "Δ test (pts)": "no draws in common" if ci is None else signed(100 * ci.mean),
                CI: ""
                if ci is None or ci.low is None
                else (f"[{signed(100 * ci.low)}, {signed(100 * ci.high)}]"),
                "over": "" if ci is None else f"{ci.n} {p.by}",
                "p": p_text(p.p),
                "p (Holm)": p_text(p.p_holm),
                "significant": "yes" if p.significant else "no",
            }
        )
    return rows


def pair_plain(pairs: Sequence[Pair]) -> list[dict[str, Any]]:
    return [
        {
            "train_size": p.train_size,
            "first": p.first,
            "second": p.second,
            "val_gap": p.val_gap,
            "test_diff": None if p.diff is None else p.diff.mean,
            "low": None if p.diff is None else p.diff.low,
            "high": None if p.diff is None else p.diff.high,
            "n": None if p.diff is None else p.diff.n,
            "by": p.by,
            "p": p.p,
            "p_holm": p.p_holm,
            "significant": p.significant,
        }
        for p in pairs
    ]


def edge_plain(flags: Sequence[EdgeFlag]) -> list[dict[str, Any]]:
    return [
        {
            "setting": f.setting,
            "train_size": f.train_size,
            "key": f.key,
            "picked": f.picked,
            "edge": f.edge,
            "count": f.count,
            "of": f.of,
            "suggest": f.suggest,
        }
        for f in flags
    ]


def rate_text(r: Rate) -> str:
    """``≈ 3,200 (x3.2)``, with a dagger when extrapolated; the reason when there is none."""
    if r.real is None:
        return "beyond reach" if r.place == "unreachable" else "none"
    mark = " †" if r.extrapolated else ""
    return f"≈ {count(r.real)} (x{r.ratio:.2g}){mark}"


def bounds_text(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return ""
    return f"[{count(low)}, {count(high)}]"


def count(value: float) -> str:
    """Two significant digits (2,713 -> 2,700: the fit is no more precise); ∞ for inf."""
    if math.isinf(value):
        return "∞"
    shown = float(f"{value:.2g}") if value >= 100 else round(value)
    return f"{int(shown):,}"


def p_text(p: float | None) -> str:
    if p is None:
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def signed(value: float, digits: int = 2) -> str:
    """``+1.50`` / ``−2.10`` (a real minus sign); ``0.00`` for a zero."""
    text = f"{abs(value):.{digits}f}"
    if float(text) == 0:
        return text
    return ("+" if value > 0 else MINUS) + text
