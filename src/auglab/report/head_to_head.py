"""Which setting is best at each size, as a reviewer accepts it: validation picks, the test
set only confirms. The leader at a size is the setting with the highest mean validation
accuracy (``val_acc_best`` of its chosen jobs); it and its closest rivals (every setting
within ``WITHIN`` of it on validation, the runner-up always, at most ``TOP``) are compared
pair by pair on test accuracy, paired by draws and averaged per subset, with a paired t
test; Holm's correction runs over all pairs of all sizes. "Best" only when the leader beats
the runner-up after correction; else "leading, not separable from" it."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from auglab.report.cells import Cell
from auglab.stats import Interval, by_unit, holm, paired, paired_t_test

#: Settings within this much validation accuracy of the leader are its rivals.
WITHIN = 0.01
#: At most this many settings per size are compared (6 pairs).
TOP = 4
#: Family-wise error rate of the head-to-head tests.
ALPHA = 0.05


@dataclass(frozen=True)
class Pair:
    """``first`` (higher on validation) against ``second`` at ``train_size``: the test
    accuracy difference (``diff``, over ``by`` units), raw and Holm-adjusted p."""

    train_size: int
    first: str
    second: str
    val_gap: float
    diff: Interval | None  # None: no draws in common
    by: str
    p: float | None
    p_holm: float | None

    @property
    def significant(self) -> bool:
        return self.p_holm is not None and self.p_holm < ALPHA


@dataclass(frozen=True)
class Leader:
    """The setting validation picks at ``train_size``, its mean validation accuracy, the
    runner-up (None: the only setting) and whether the pair is separable after Holm."""

    train_size: int
    setting: str
    val_mean: float
    runner_up: str | None
    separable: bool


@dataclass(frozen=True)
class HeadToHead:
    leaders: tuple[Leader, ...]
    pairs: tuple[Pair, ...]


def val_mean(cell: Cell) -> float | None:
    """Mean validation accuracy of the cell's (chosen) jobs; None if none recorded it."""
    values = [float(j.val_acc_best) for j in cell.jobs if j.val_acc_best is not None]
    return statistics.fmean(values) if values else None


def leading(size_cells: Sequence[Cell]) -> list[tuple[Cell, float]]:
    """The cells compared at one size, best on validation first."""
    ranked = sorted(
        ((c, v) for c in size_cells if (v := val_mean(c)) is not None), key=lambda cv: -cv[1]
    )
    if not ranked:
        return []
    top = ranked[0][1]
    close = [cv for cv in ranked if top - cv[1] <= WITHIN + 1e-12]
    return ranked[: min(TOP, max(2, len(close)))]


def head_to_head(table_cells: Sequence[Cell]) -> HeadToHead:
    """Leaders and the pairwise tests among the leading settings of every size."""
    sizes: dict[int, list[Cell]] = {}
    for cell in table_cells:
        sizes.setdefault(cell.train_size, []).append(cell)
    raw: list[tuple[int, Cell, Cell, float, Interval | None, str, float | None]] = []
    ranked_by_size = {size: leading(group) for size, group in sorted(sizes.items())}
    for size, ranked in ranked_by_size.items():
        for (a, va), (b, vb) in combinations(ranked, 2):
            diff, by, p = compare_pair(a, b)
            raw.append((size, a, b, va - vb, diff, by, p))
    tested = [i for i, item in enumerate(raw) if item[6] is not None]
    adjusted = dict(zip(tested, holm([raw[i][6] for i in tested]), strict=True))
    pairs = tuple(
        Pair(size, a.setting, b.setting, gap, diff, by, p, adjusted.get(i))
        for i, (size, a, b, gap, diff, by, p) in enumerate(raw)
    )
    leaders = []
    for size, ranked in ranked_by_size.items():
        if not ranked:
            continue
        (first, v), *rest = ranked
        runner = rest[0][0].setting if rest else None
        pair = next(
            (
                p
                for p in pairs
                if (p.train_size, p.first, p.second) == (size, first.setting, runner)
            ),
            None,
        )
        leaders.append(
            Leader(size, first.setting, v, runner, pair is not None and pair.significant)
        )
    return HeadToHead(tuple(leaders), pairs)


def compare_pair(a: Cell, b: Cell) -> tuple[Interval | None, str, float | None]:
    """Test accuracy of ``a`` minus ``b`` paired by draws, averaged per subset when there
    are several; the mean with its interval, over what, and the paired t test's p."""
    ours = {d: float(j.test_acc) for d, j in a.by_draws().items()}
    theirs = {d: float(j.test_acc) for d, j in b.by_draws().items()}
    diffs = paired(ours, theirs)
    if not diffs:
        return None, "pairs", None
    values, by = by_unit([(draws[0], d) for draws, d in diffs.items()])
    interval, p = paired_t_test(values)
    return interval, by, p
