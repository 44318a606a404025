"""Where validation keeps picking the edge of a strength grid: the best strength may lie
outside the values tried, so the tuned setting is undersold and the grid should grow.

For each setting and size a selection tuned, and each strength key (``aug.strength``,
``reg.strength``) with 2 values or more: the draws whose chosen job sits at the grid's
smallest or largest value; flagged when at least half of the draws chose that edge."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auglab.report.cells import Cell
from auglab.report.overrides import parse_override


@dataclass(frozen=True)
class EdgeFlag:
    """``setting`` at ``train_size``: validation picked ``picked``, the ``edge``
    (``largest``/``smallest``) of ``key``'s grid, in ``count`` of ``of`` ``unit``;
    ``suggest``: a value one step past it."""

    setting: str
    train_size: int
    key: str
    picked: str
    edge: str
    count: int
    of: int
    unit: str
    suggest: str

    @property
    def text(self) -> str:
        return (
            f"{self.setting} at {self.train_size:,}: validation picked {self.key}="
            f"{self.picked}, the {self.edge} tried, in {self.count} of {self.of} {self.unit}: "
            f"extend the grid, e.g. {self.key}={self.suggest}"
        )


def edge_flags(table_cells: Sequence[Cell]) -> list[EdgeFlag]:
    """Every setting, size and strength key whose picks crowd an edge of its grid."""
    flags = []
    for cell in table_cells:
        for key, values in cell.grid:
            grid = sorted({float(v) for v in values})
            if len(grid) < 2:
                continue
            picks = [_picked(job.overrides, key) for job in cell.jobs]
            for edge, value in (("largest", grid[-1]), ("smallest", grid[0])):
                count = sum(1 for p in picks if p == value)
                if count and 2 * count >= len(picks):
                    flags.append(
                        EdgeFlag(
                            setting=cell.setting,
                            train_size=cell.train_size,
                            key=key,
                            picked=f"{value:g}",
                            edge=edge,
                            count=count,
                            of=len(picks),
                            unit=_unit(cell),
                            suggest=f"{_beyond(grid, edge):g}",
                        )
                    )
    return flags


def _picked(overrides: Sequence[str], key: str) -> float | None:
    values = dict(parse_override(o) for o in overrides)
    return float(values[key]) if key in values else None


def _unit(cell: Cell) -> str:
    """What the picks were made per: one per subset, per seed (one subset), or per draw."""
    subsets = len(cell.subset_seeds)
    if subsets == len(cell.jobs) and subsets > 1:
        return "subsets"
    return "seeds" if subsets == 1 else "draws (subset, seed)"


def _beyond(grid: Sequence[float], edge: str) -> float:
    """One grid step past the edge (halfway to 0 where a step down would reach it)."""
    if edge == "largest":
        return grid[-1] + (grid[-1] - grid[-2])
    step_down = grid[0] - (grid[1] - grid[0])
    return step_down if step_down > 0 else grid[0] / 2
