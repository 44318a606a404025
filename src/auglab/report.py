"""The sweep report: test accuracy against training-set size, per augmentation setting.

``python -m auglab.report <sweep_dir>`` rebuilds ``summary.csv``/``summary.md``,
``report.md`` and ``report.png`` from the job records, also while a sweep runs or
after it was interrupted: finished jobs are reported, failed and diverged ones are
listed (never averaged), and the combinations still missing are listed, from the
sweep overrides Hydra saved in ``multirun.yaml`` when the sweep started.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf
from tabulate import tabulate

from auglab import plots
from auglab.errors import ConfigError
from auglab.record import RECORD_FILE, JobRecord, sweep_records
from auglab.summary import job_overrides, parse_override, varying_keys, write_summary

log = logging.getLogger(__name__)

REPORT_MD, REPORT_PNG = "report.md", "report.png"
SWEEP_CONFIG = "multirun.yaml"
#: Overrides that place a job on the plot (x, line, seed) rather than name another setting.
PLACED_BY = ("data.size", "seed", "aug", "data.synthetic_size")


@dataclass(frozen=True)
class Cell:
    """The jobs of one setting at one training-set size: one point of the plot."""

    setting: str
    train_size: int
    accs: tuple[float, ...]
    losses: tuple[float, ...]
    seeds: tuple[Any, ...]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.accs)

    @property
    def std(self) -> float | None:
        """Sample standard deviation over seeds; None for a single run."""
        return statistics.stdev(self.accs) if len(self.accs) > 1 else None


@dataclass(frozen=True)
class MissingJob:
    job_num: int
    overrides: tuple[str, ...]
    started: bool  # it has a record that says "running": in progress, or its process died


def setting_label(job: JobRecord) -> str:
    """``off``, ``on``, ``on x0.5`` (strength), plus `` synthetic N``; from the record.

    Older files lack ``aug``/``aug_strength``/``synthetic_size``: the job's
    overrides stand in, then the defaults of ``conf/train.yaml`` (aug off, strength 1).
    """
    overrides = dict(parse_override(o) for o in job.overrides)
    aug = job.aug or overrides.get("aug") or "off"
    strength = job.aug_strength if job.aug_strength is not None else overrides.get("aug.strength")
    strength = 1.0 if strength in (None, "", "null") else float(strength)
    if aug == "off" or strength == 0:
        label = "off"
    elif strength == 1:
        label = str(aug)
    else:
        label = f"{aug} x{strength:g}"
    synthetic = (
        job.synthetic_size
        if job.synthetic_size is not None
        else overrides.get("data.synthetic_size")
    )
    if synthetic not in (None, "", "null"):
        label += f" synthetic {int(float(synthetic))}"
    return label


def cells(jobs: Sequence[JobRecord]) -> list[Cell]:
    """Finished jobs grouped by setting and training-set size; seeds of a group are averaged.

    Any other override the jobs differ in (``optim=sgd``...) is part of the setting,
    so runs of different recipes are never averaged together. Failed and diverged
    jobs have no accuracy to average: they are left out (the report lists them).
    """
    jobs = [j for j in jobs if j.ok]
    overrides = job_overrides(jobs)
    other = [k for k in varying_keys(overrides) if not k.startswith(PLACED_BY)]
    groups: dict[tuple[str, int], list[JobRecord]] = {}
    for job, job_values in zip(jobs, overrides, strict=True):
        if job.train_size is None or job.test_acc is None:
            log.warning("Job %s has no train_size or test_acc: left out", job.job_num)
            continue
        label = ", ".join(
            [setting_label(job), *(f"{k}={job_values[k]}" for k in other if k in job_values)]
        )
        groups.setdefault((label, int(job.train_size)), []).append(job)
    result = [
        Cell(
            setting=label,
            train_size=size,
            accs=tuple(float(j.test_acc) for j in group),
            losses=tuple(float(j.test_loss) for j in group if j.test_loss is not None),
            seeds=tuple(j.seed for j in group),
        )
        for (label, size), group in groups.items()
    ]
    return sorted(result, key=lambda c: (c.setting != "off", c.setting, c.train_size))


def expected_jobs(sweep_dir: Path) -> list[tuple[str, ...]] | None:
    """Every job the sweep was started for, in Hydra's job order; None if unknown.

    Reads the overrides saved in ``multirun.yaml`` and expands them with Hydra's
    own override parser, as its basic sweeper does (sweeper params first, then the
    command line; every combination of the swept values).
    """
    path = sweep_dir / SWEEP_CONFIG
    if not path.is_file():
        return None
    cfg = OmegaConf.load(path)
    params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()]
    arguments += list(OmegaConf.select(cfg, "hydra.overrides.task") or [])
    choices: dict[str, list[str]] = {}
    for override in OverridesParser.create().parse_overrides(arguments):
        key = override.get_key_element()
        if not override.is_sweep_override():
            choices[key] = [f"{key}={override.get_value_element_as_str()}"]
        elif override.is_discrete_sweep():
            choices[key] = [f"{key}={v}" for v in override.sweep_string_iterator()]
        else:  # an interval: chosen by an optimising sweeper, not enumerable
            return None
    return [tuple(combo) for combo in itertools.product(*choices.values())]


def missing_jobs(sweep_dir: Path, jobs: Sequence[JobRecord]) -> list[MissingJob] | None:
    """Expected combinations with no ended record; None when the expected set is unknown."""
    expected = expected_jobs(sweep_dir)
    if expected is None:
        return None
    ended = {_key(job.overrides) for job in jobs if job.ended}
    started = {_key(job.overrides) for job in jobs if not job.ended}
    return [
        MissingJob(num, combo, _key(combo) in started)
        for num, combo in enumerate(expected)
        if _key(combo) not in ended
    ]


def report_markdown(
    sweep_dir: Path,
    table_cells: Sequence[Cell],
    n_jobs: int,
    missing: Sequence[MissingJob] | None,
    failed: Sequence[JobRecord] = (),
) -> str:
    rows = [
        {
            "setting": c.setting,
            "train_size": c.train_size,
            "test_acc": f"{c.mean:.4f}" + ("" if c.std is None else f" ± {c.std:.4f}"),
            "test_loss": f"{statistics.fmean(c.losses):.4f}" if c.losses else "",
            "seeds": len(c.accs),
        }
        for c in table_cells
    ]
    expected = "" if missing is None else f" of {n_jobs + len(missing) + len(failed)} expected"
    lines = [
        f"# Sweep report: {sweep_dir.name}",
        "",
        f"{n_jobs} finished jobs{expected}. Test accuracy is the mean ± sample std over "
        "the seeds of each setting and training-set size.",
        "",
        f"![Test accuracy by training-set size]({REPORT_PNG})",
        "",
        tabulate(rows, headers="keys", tablefmt="github", disable_numparse=True),
        "",
    ]
    if missing:
        lines += [f"## Missing jobs ({len(missing)})", ""]
        lines += [
            f"- job {m.job_num}: `{' '.join(m.overrides)}`"
            + (
                " (started, not finished: running, or its process died)"
                if m.started
                else " (not started)"
            )
            for m in missing
        ]
        lines.append("")
    elif missing is None:
        lines += [f"Expected jobs unknown: no sweep overrides readable in {SWEEP_CONFIG}.", ""]
    if failed:
        lines += [f"## Failed and diverged jobs ({len(failed)}), left out of the means", ""]
        lines += [f"- {r.failure_line()}" for r in failed]
        lines.append("")
    return "\n".join(lines)


def write_report(sweep_dir: Path, with_summary: bool = True) -> str | None:
    """Write ``report.md``/``report.png`` (and the summary); the report, None if no job finished."""
    sweep_dir = Path(sweep_dir)
    jobs = [record for _, record in sweep_records(sweep_dir)]
    if not jobs:
        return None
    if with_summary:
        write_summary(sweep_dir, jobs)
    finished = [j for j in jobs if j.ok]
    failed = [j for j in jobs if j.status in ("failed", "diverged")]
    table_cells = cells(finished)
    lines: dict[str, list[tuple[float, float, float | None]]] = {}
    for c in table_cells:
        lines.setdefault(c.setting, []).append((c.train_size, c.mean, c.std))
    plots.save_png(plots.sweep_report_figure(lines), sweep_dir / REPORT_PNG)
    text = report_markdown(
        sweep_dir, table_cells, len(finished), missing_jobs(sweep_dir, jobs), failed
    )
    (sweep_dir / REPORT_MD).write_text(text)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m auglab.report",
        description="Rebuild summary.csv/.md, report.md and report.png of a (possibly unfinished) sweep.",
    )
    parser.add_argument("sweep_dir", type=Path, help="e.g. logs/multiruns/2025-01-01_12-00-00")
    args = parser.parse_args(argv)
    try:
        text = write_report(_check_sweep_dir(args.sweep_dir))
        if text is None:
            raise ConfigError(
                f"no job record in {args.sweep_dir} (no */{RECORD_FILE}): wait for a job to start, or pass the sweep dir itself"
            )
    except ConfigError as err:
        print(f"auglab: error: {err}", file=sys.stderr)
        return 2
    print(text)
    return 0


def _check_sweep_dir(path: Path) -> Path:
    if not path.is_dir():
        raise ConfigError(
            f"sweep dir {path} does not exist: pass a folder of logs/multiruns/ (or your hydra.sweep.dir)"
        )
    return path


def _key(overrides: Sequence[str]) -> frozenset[tuple[str, str]]:
    """Overrides compared as (key, value) pairs: order and ``+`` prefixes do not matter."""
    return frozenset(parse_override(str(o)) for o in overrides)


if __name__ == "__main__":
    sys.exit(main())
