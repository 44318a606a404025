"""The sweep's finished jobs under shift: their accuracy on a corruption suite
(``JobRecord.shift``, written by ``python -m auglab.evaluate``) read as if the suite were
their test set, so the clean test set's own analysis applies to it unchanged."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from auglab.record import JobRecord
from auglab.report.cells import Cell, cells


@dataclass(frozen=True)
class Shifted:
    """The sweep's finished jobs on one corruption suite.

    ``cells`` are ``cells()`` of the jobs seen as if the suite were their test set
    (``shift_view``): a job's test accuracy is its mean over the corruptions, its per-class
    fields are per corruption. So the paired differences to ``off``, the exchange rates and
    the corruptions helped and hurt most are the clean test set's own code, read on the
    shifted accuracy. ``left_out``: finished jobs without results of this suite.
    """

    suite: str
    seed: int
    severity: dict[str, int]
    corruptions: tuple[str, ...]
    sources: tuple[str, ...]
    cells: list[Cell]
    evaluated: int
    left_out: int

    def corruption_means(self, cell: Cell) -> dict[str, float | None]:
        """Each corruption's accuracy, the mean over the cell's jobs."""
        found: dict[str, float | None] = {}
        for i, name in enumerate(self.corruptions):
            values = [j.test_class_acc[i] for j in cell.jobs if j.test_class_acc]
            present = [float(v) for v in values if v is not None]
            found[name] = statistics.fmean(present) if present else None
        return found

    @staticmethod
    def clean_mean(cell: Cell) -> float | None:
        """The cell's jobs' clean test accuracy, as measured with the suite."""
        values = [j.shift.get("clean_acc") for j in cell.jobs if j.shift]
        present = [float(v) for v in values if v is not None]
        return statistics.fmean(present) if present else None


def _suite_key(job: JobRecord) -> tuple[Any, ...]:
    shift = job.shift or {}
    return (
        shift.get("suite"),
        shift.get("seed"),
        tuple(sorted((shift.get("severity") or {}).items())),
    )


def shift_view(job: JobRecord, corruptions: Sequence[str]) -> JobRecord:
    """``job`` as if the suite were its test set: ``test_acc`` is the suite's mean, the
    per-class accuracies and names are per corruption; no clean loss."""
    shift = job.shift or {}
    acc = shift.get("acc") or {}
    return replace(
        job,
        test_acc=shift.get("mean_acc"),
        test_loss=None,
        test_class_acc=[acc.get(name) for name in corruptions],
        class_names=list(corruptions),
    )


def under_shift(jobs: Sequence[JobRecord], select: str | None = None) -> Shifted | None:
    """The finished jobs' shift results, as cells; None when no finished job has any.

    Jobs evaluated on different suites (another seed or severity) are never averaged
    together: the suite most jobs ran is shown, the others counted in ``left_out``."""
    finished = [j for j in jobs if j.ok]
    evaluated = [
        j for j in finished if isinstance(j.shift, dict) and j.shift.get("mean_acc") is not None
    ]
    if not evaluated:
        return None
    suite = Counter(_suite_key(j) for j in evaluated).most_common(1)[0][0]
    chosen = [j for j in evaluated if _suite_key(j) == suite]
    first = chosen[0].shift
    names = tuple(first.get("corruptions") or sorted(first.get("acc") or {}))
    sources = tuple(dict.fromkeys(str(j.shift.get("source")) for j in chosen))
    return Shifted(
        suite=str(first.get("suite")),
        seed=int(first.get("seed") or 0),
        severity=dict(first.get("severity") or {}),
        corruptions=names,
        sources=sources,
        cells=cells([shift_view(j, names) for j in chosen], select),
        evaluated=len(chosen),
        left_out=len(finished) - len(chosen),
    )
