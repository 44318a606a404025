"""The sections of ``report.md`` built on ``off``'s fitted learning curve and on the
head-to-head tests: "Learning curve of off", "Exchange rate" (also under shift), "Head to
head" and "Edge of the strength grid", as markdown lines. Each says why it is empty."""

from __future__ import annotations

from collections.abc import Sequence

from auglab.powerlaw import MIN_SIZES_FOR_ASYMPTOTE
from auglab.report.edges import EdgeFlag
from auglab.report.exchange_fit import FittedExchange
from auglab.report.fit_tables import curve_rows, pair_rows, rate_rows, rate_text
from auglab.report.head_to_head import ALPHA, TOP, WITHIN, HeadToHead
from auglab.report.tables import table


def curve_section(exchange: FittedExchange) -> list[str]:
    lines = ["## Learning curve of off", ""]
    if not exchange.curves:
        why = "no `off` jobs" if not exchange.has_off else "`off` ran at a single size"
        return [*lines, f"No curve to fit: {why}.", ""]
    for curve in exchange.curves:
        law = curve.law
        fitted = (
            f"`{curve.label}`: {law.form} with a = {law.a:.4g}, b = {law.b:.3f}, "
            f"c = {law.c:.4f} (its test error with unlimited images)"
            if law.asymptote
            else f"`{curve.label}`: {law.form} with a = {law.a:.4g}, b = {law.b:.3f}; no "
            f"asymptote c: {len(curve.sizes)} sizes, and c needs {MIN_SIZES_FOR_ASYMPTOTE}"
        )
        lines += [f"- {fitted}; fitted on {len(curve.points)} jobs at {len(curve.sizes)} sizes."]
    lines += [
        "",
        "Test error against training-set size, fitted by least squares in log error on every "
        "job's point (so each point counts relatively: 1% against 2% as 10% against 20%). "
        "The exchange rates below read this curve backwards.",
        "",
        table(curve_rows(exchange.curves)),
        "",
    ]
    return lines


def exchange_section(
    exchange: FittedExchange, heading: str = "## Exchange rate", metric: str = "test error"
) -> list[str]:
    lines = [heading, ""]
    if not exchange.has_off:
        return [*lines, "No `off` jobs: no curve of real images to read the exchange rate off.", ""]
    if not exchange.curves:
        return [*lines, "`off` ran at a single size: no curve to read the exchange rate off.", ""]
    if not exchange.rates:
        return [*lines, "No setting besides `off`: nothing to exchange.", ""]
    resampled = sorted(
        {r.resampled for r in exchange.rates} | {c.resampled for c in exchange.curves}
    )
    lines += [
        "How many real, un-augmented images each setting is worth: the training-set size at "
        f"which `off`'s fitted curve (above) reaches the setting's mean {metric} "
        "(Geiping et al. 2023), and its ratio to the setting's own size. † extrapolated: "
        "beyond `off`'s largest size (or below its smallest) the number is the fit's shape, "
        "not a measurement; beyond reach: the setting's error is below the fitted asymptote c. "
        f"Interval: {_interval_note(exchange.resamples, resampled)}",
    ]
    example = next((r for r in exchange.rates if r.place == "within"), None)
    if example is not None:
        lines += [
            f"Read: at {example.train_size:,} images, {example.setting} "
            f"{rate_text(example)} real images."
        ]
    return [*lines, "", table(rate_rows(exchange.rates)), ""]


def _interval_note(resamples: int, resampled: Sequence[str]) -> str:
    seeds = any("seeds" in r for r in resampled)
    return (
        f"95% percentile bootstrap ({resamples:,} seeded resamples): at each size `off`'s "
        "training subsets (`data.subset_seed`) drawn with replacement and the curve refitted, "
        "independently the setting's subsets, and the rate read again"
        + (
            "; where a cell ran a single subset its jobs (seeds) are drawn instead "
            "(column `resampled`; off's: " + " or ".join(resampled) + ")."
            if seeds
            else "."
        )
    )


def head_to_head_section(found: HeadToHead) -> list[str]:
    lines = ["## Head to head", ""]
    if not found.leaders:
        return [*lines, "No validation accuracy recorded: validation picks no setting.", ""]
    lines += [
        "The best setting at each size is the one validation picks (highest mean "
        "`val_acc_best` of its chosen jobs; bold in the accuracy table); the test set only "
        f"confirms it. It and its rivals (every setting within {100 * WITHIN:g} point of it "
        f"on validation, the runner-up always, at most {TOP}) are compared pair by pair on "
        "test accuracy, paired by draws and averaged per subset, with a paired t test; "
        f"Holm's correction runs over all pairs of all sizes (significant: adjusted p < {ALPHA}).",
        "",
    ]
    for leader in found.leaders:
        if leader.runner_up is None:
            verdict = f"{leader.setting} (the only setting)"
        elif leader.separable:
            verdict = f"best: {leader.setting} (ahead of {leader.runner_up} after correction)"
        else:
            verdict = f"leading: {leader.setting} (not separable from {leader.runner_up})"
        lines.append(f"- {leader.train_size:,} images: {verdict}")
    lines.append("")
    if found.pairs:
        lines += [table(pair_rows(found.pairs)), ""]
    return lines


def edges_section(flags: Sequence[EdgeFlag]) -> list[str]:
    if not flags:
        return []
    return [
        "## Edge of the strength grid",
        "",
        "Validation picked the smallest or largest strength tried, for at least half of the "
        "draws: the best strength may lie outside the grid, so the tuned setting may be "
        "undersold.",
        "",
        *[f"- {flag.text}" for flag in flags],
        "",
    ]


def best_note(found: HeadToHead) -> str:
    """The accuracy table's legend for its bold cells."""
    if not any(leader.runner_up for leader in found.leaders):
        return ""
    return (
        "Bold: the setting validation picks at each size (see Head to head), not the test "
        "mean's highest."
    )
