"""The command line of ``python -m auglab.evaluate``: what to evaluate (``Request``) and on
which of a dir's jobs (``Pick``), parsed from argv. Apart from ``auglab.evaluate`` so that
module holds only the work."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Request:
    """What to evaluate each job on: the suite (None: ``--no-shift``) and other datasets."""

    shift: bool = True
    suite: str | None = None
    corruptions: tuple[str, ...] | None = None
    severity: int | None = None
    seed: int | None = None
    datasets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    data_dir: Path | None = None
    force: bool = False

    def labels(self) -> list[str]:
        return [" ".join([name, *overrides]) for name, overrides in self.datasets]


@dataclass(frozen=True)
class Pick:
    """Which of a sweep dir's jobs to evaluate: its latest grid, or every job ever planned
    into it (``whole_plan``), narrowed to those whose overrides set each key of ``where`` to
    one of its values (a study's chosen settings, out of hundreds of jobs)."""

    whole_plan: bool = False
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def keeps(self, overrides: Sequence[str]) -> bool:
        given = dict(str(o).lstrip("+~").partition("=")[::2] for o in overrides)
        return all(given.get(key) in values for key, values in self.where)

    def describe(self) -> str:
        return " ".join(f"{key}={','.join(values)}" for key, values in self.where)


def parse_args(argv: Sequence[str] | None = None) -> tuple[Path, Request, Pick]:
    """The dir, what to evaluate its jobs on and which jobs; a usage error exits (status 2)."""
    parser = _parser()
    args = parser.parse_args(argv)
    where = []
    for item in args.where:
        key, sep, values = item.partition("=")
        if not sep or not key or not values:
            parser.error(f"--where {item}: write KEY=V1,V2, e.g. --where data.size=100,1000")
        where.append((key.strip(), tuple(v.strip() for v in values.split(","))))
    corruptions = None
    if args.corruptions:
        corruptions = tuple(n.strip() for n in args.corruptions.split(",") if n.strip())
    request = Request(
        shift=not args.no_shift,
        suite=args.suite,
        corruptions=corruptions,
        severity=args.severity,
        seed=args.seed,
        datasets=tuple((d[0], tuple(d[1:])) for d in args.dataset),
        data_dir=args.data_dir,
        force=args.force,
    )
    if not request.shift and not request.datasets:
        parser.error("--no-shift leaves nothing to evaluate: add --dataset NAME [KEY=VALUE ...]")
    return args.dir, request, Pick(args.whole_plan, tuple(where))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m auglab.evaluate",
        description="Test the finished jobs of a run or sweep dir on the corruption suite "
        "and on other test sets; the results go into each job's metrics.json.",
    )
    parser.add_argument("dir", type=Path, help="a run dir (logs/runs/...) or a sweep dir")
    parser.add_argument(
        "--suite", help="conf/shift/<SUITE>.yaml (default: the job's own, else mnist_c)"
    )
    parser.add_argument(
        "--corruptions", help="comma-separated subset of the suite, e.g. rotate,fog"
    )
    parser.add_argument(
        "--severity",
        type=int,
        help="1-5 for every corruption that has levels (default: the suite's)",
    )
    parser.add_argument("--seed", type=int, help="the corruptions' seed (default: the suite's)")
    parser.add_argument("--no-shift", action="store_true", help="skip the corruption suite")
    parser.add_argument(
        "--dataset",
        nargs="+",
        action="append",
        default=[],
        metavar=("NAME", "KEY=VALUE"),
        help="another test set: conf/data/NAME.yaml with overrides, e.g. --dataset fingers "
        "data.path=/other/folder (repeatable; after DIR); the job's own dataset starts from "
        "the job's data config",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="PATH",
        help="the job's data.data_dir, if its data moved (the folder of MNIST/, mnist_c/...)",
    )
    parser.add_argument("--force", action="store_true", help="evaluate again what is done")
    parser.add_argument(
        "--whole-plan",
        action="store_true",
        help="every job ever planned into DIR (a study run as several sweeps), not only the "
        "latest sweep's grid",
    )
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="only the jobs whose overrides set KEY to one of the values, e.g. --where "
        "data.size=100,1000 --where aug=elastic (repeatable: all must hold)",
    )
    return parser
