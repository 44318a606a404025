"""The sections of ``report.md`` on the clean test set, as markdown lines: the difference
to ``off``, subset or seed, per-class effects, and the selection note (the fitted curve,
the exchange rate and the head-to-head are ``fit_sections``).
Each says why a table is missing when it is (nothing to compare, no ``off``...)."""

from __future__ import annotations

from collections.abc import Sequence

from auglab.report.effects import TOP_CLASSES
from auglab.report.result import Comparisons, Spread
from auglab.report.tables import (
    class_rows,
    difference_rows,
    spread_rows,
    table,
)
from auglab.stats import LEVEL


def difference_section(compared: Comparisons, by_subset: bool) -> list[str]:
    lines = ["## Difference to off", ""]
    if not compared.differences:
        return [*lines, "Nothing to compare: the sweep has no setting besides `off`.", ""]
    if not any(d.has_base for d in compared.differences):
        return [
            *lines,
            "No `off` job at any size of the other settings: nothing to compare with.",
            "",
        ]
    rows = difference_rows(compared.differences, by_subset)
    return [*lines, difference_note(by_subset), "", table(rows), ""]


def difference_note(by_subset: bool) -> str:
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
        "images, validation split and initial weights). Pairs on one subset share its images, so "
        "the differences are first averaged per subset (over its seeds), then the "
        f"{LEVEL:.0%} Student-t interval is over those subset means (n_subsets − 1 degrees of "
        "freedom); a row on a single subset has its interval over the seeds. "
        "`*`: the interval excludes 0."
    )


def spread_section(found: Sequence[Spread]) -> list[str]:
    lines = ["## Subset or seed", ""]
    if not found:
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
        table(spread_rows(found)),
        "",
    ]


def class_section(compared: Comparisons, by_subset: bool) -> list[str]:
    lines = ["## Per-class effects", ""]
    if not compared.differences:
        return [*lines, "Nothing to compare: the sweep has no setting besides `off`.", ""]
    if not any(d.has_base for d in compared.differences):
        return [*lines, "No paired `off` jobs: nothing to compare with.", ""]
    per_class = class_rows(compared.differences)
    if per_class is None:
        return [
            *lines,
            "Per-class test accuracy not recorded (records written before `test_class_acc`).",
            "",
        ]
    pairs = "(subset seed, seed) runs" if by_subset else "seeds"
    return [
        *lines,
        f"Per class: test accuracy minus `off`'s in points, the mean over paired {pairs}; "
        f"the {TOP_CLASSES} classes each setting hurts and helps most. An augmentation that "
        "helps the mean can cost single classes (Balestriero et al. 2022).",
        "",
        table(per_class),
        "",
    ]


def selection_note(select: str, tuned: Sequence[str]) -> str:
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
