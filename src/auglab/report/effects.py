"""What each setting does against ``off``: paired differences by draws, per-class effects,
the exchange rate (the real un-augmented images a setting's mean accuracy is worth) and the
split of each cell's spread into subset and seed. Plain data; the renderers format it."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from auglab.report.cells import OFF, Cell
from auglab.stats import (
    Bound,
    Interval,
    VarianceSplit,
    equivalent_size,
    monotone_curve,
    paired,
    t_interval,
)

#: Classes listed per setting and size in "Per-class effects", each way.
TOP_CLASSES = 3


@dataclass(frozen=True)
class Comparison:
    """A setting against ``off`` at the same size and other overrides, paired by draws."""

    cell: Cell
    base: Cell | None
    # (subset seed, seed) -> test acc difference
    diffs: dict[tuple[int | None, Any], float] = field(default_factory=dict)

    @property
    def interval(self) -> Interval | None:
        return t_interval(list(self.diffs.values())) if self.diffs else None

    def class_diffs(self) -> dict[int, float] | None:
        """Per class index: mean over paired draws of the test-accuracy difference.

        None when no pair has per-class accuracies recorded on both sides.
        """
        if self.base is None:
            return None
        ours, theirs = self.cell.by_draws(), self.base.by_draws()
        sums: dict[int, list[float]] = {}
        recorded = False
        for draws in self.diffs:
            a, b = ours[draws].test_class_acc, theirs[draws].test_class_acc
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


def comparisons(table_cells: Sequence[Cell]) -> list[Comparison]:
    """Each setting other than ``off`` against ``off`` at its size and other overrides."""
    bases = {(c.others, c.train_size): c for c in table_cells if c.aug == OFF}
    result = []
    for cell in table_cells:
        if cell.aug == OFF:
            continue
        base = bases.get((cell.others, cell.train_size))
        diffs: dict[tuple[int | None, Any], float] = {}
        if base is not None:
            ours = {draws: float(j.test_acc) for draws, j in cell.by_draws().items()}
            theirs = {draws: float(j.test_acc) for draws, j in base.by_draws().items()}
            diffs = paired(ours, theirs)
        result.append(Comparison(cell, base, diffs))
    return result


def varies_subsets(table_cells: Sequence[Cell]) -> bool:
    """Whether some cell ran more than one training subset (``data.subset_seed``)."""
    return any(len(c.subset_seeds) > 1 for c in table_cells)


def spreads(table_cells: Sequence[Cell]) -> list[tuple[Cell, VarianceSplit]]:
    """Each cell's subset / seed / residual split, where it ran a 2 x 2 grid or more."""
    found = [(c, c.spread()) for c in table_cells]
    return [(c, split) for c, split in found if split is not None]


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


def pooled_sizes(table_cells: Sequence[Cell]) -> list[tuple[str, list[int]]]:
    """Where ``off``'s curve is not monotone: its label (``off, optim=sgd``) and the sizes
    whose mean the non-decreasing fit moved (pooled with a neighbour)."""
    found = []
    for others, curve in off_curves(table_cells).items():
        raw = {c.train_size: c.mean for c in table_cells if c.aug == OFF and c.others == others}
        pooled = [int(s) for s, a in curve if abs(raw[int(s)] - a) > 1e-12]
        if pooled:
            found.append((", ".join([OFF, *others]), pooled))
    return found


def top_classes(
    comp: Comparison, diffs: dict[int, float], top: int = TOP_CLASSES
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """The ``top`` classes ``comp``'s setting hurts most and helps most, by name, with their
    mean paired difference; equal effects in class order."""
    hurt = sorted(((c, d) for c, d in diffs.items() if d < 0), key=lambda i: (i[1], i[0]))
    helped = sorted(((c, d) for c, d in diffs.items() if d > 0), key=lambda i: (-i[1], i[0]))
    return (
        [(comp.class_name(c), d) for c, d in hurt[:top]],
        [(comp.class_name(c), d) for c, d in helped[:top]],
    )
