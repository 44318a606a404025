"""``python -m auglab.evaluate DIR`` (or ``python eval.py DIR``): test finished jobs again on
other test sets, and add the results to their records.

For a run dir (it holds ``metrics.json``) or a sweep dir (``plan.json`` and numbered job
dirs: the jobs of its latest grid, or with ``--whole-plan`` every job ever planned into it;
without a plan, every job dir in it; ``--where KEY=V1,V2`` keeps only the jobs whose
overrides set KEY to one of the values), each finished job's
tested checkpoint (the record's ``tested_checkpoint``) is loaded into the datamodule and
network rebuilt from the job's resolved ``config.yaml`` (``auglab.job.build_data_and_model``,
as the job built them) and tested through the job's test loop (``auglab.scoring``) on:

- its clean test set, which reproduces the recorded ``test_acc`` (a difference is said);
- the corruption suite (``--suite``, default the job's own ``shift`` config, else
  ``conf/shift/mnist_c.yaml``): into the record's ``shift``. For MNIST, MNIST-C's released
  files under ``<data dir>/mnist_c/`` are used where present (``source``);
- other datasets' test sets of the same shape (``--dataset fingers data.path=/other``):
  into the record's ``other_tests``, keyed by that label.

Why a plain argparse command and not a Hydra app: it composes no new job; it reads what
jobs left behind, for any dir and at any time after training. The training results of a
record are never changed: the record is re-read and rewritten (atomically) with only these
fields added, under the job's lock; a job another process holds is skipped with one line.
A rerun skips what is already evaluated (same suite, severities and seed; same labels);
``--force`` evaluates again. Exit status: 0, 1 when a job failed, 2 for nothing to do.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig, OmegaConf

from auglab.errors import ConfigError, one_line
from auglab.evaluate_args import Pick, Request, parse_args
from auglab.lock import LOCK_FILE, JobLock, job_holder
from auglab.outputs import RESOLVED_CONFIG_FILE
from auglab.plan import planned_jobs, read_plan
from auglab.process import end_now
from auglab.record import RECORD_FILE, JobRecord, read_record, sweep_records, write_record
from auglab.speedups import keep_freed_memory, skip_cuda_probe_without_gpu

if TYPE_CHECKING:
    from auglab.shift.shifted_sets import ShiftedSets

#: The record's ``tested_checkpoint`` when the final weights were tested (data.val_from_test).
FINAL_WEIGHTS = "final weights"


@dataclass
class JobDir:
    """One job to evaluate, or to say why not (``skip``)."""

    path: Path
    name: str
    record: JobRecord | None
    skip: str | None = None


@dataclass
class Tally:
    evaluated: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)


def find_jobs(directory: Path, pick: Pick | None = None) -> list[JobDir]:
    """The jobs of a run dir or a sweep dir, each finished one to evaluate, the others with
    their state; a ConfigError when there is no job at all, or none that ``pick`` keeps."""
    pick = pick or Pick()
    if not directory.is_dir():
        raise ConfigError(f"{directory} does not exist: pass a run dir or a sweep dir")
    if (directory / RECORD_FILE).is_file():
        record = read_record(directory)
        found = [(_job(directory, "run", record), record.overrides if record else [])]
    else:
        plan = read_plan(directory)
        planned = planned_jobs(directory, plan.whole() if plan and pick.whole_plan else plan)
        if planned is not None:
            found = [
                (_job(p.job_dir, f"job {p.entry.job_num}", p.record, p.state), p.entry.overrides)
                for p in planned
            ]
        else:
            found = [(_job(path, _name(r), r), r.overrides) for path, r in sweep_records(directory)]
    if not found:
        raise ConfigError(
            f"{directory} holds no job (no {RECORD_FILE}, no */{RECORD_FILE}): pass a run dir "
            "(logs/runs/<time>) or a sweep dir (logs/multiruns/<time>)"
        )
    jobs = [job for job, overrides in found if pick.keeps(overrides)]
    if not jobs:
        raise ConfigError(
            f"no job of {directory} matches --where {pick.describe()}: its jobs set e.g. "
            f"{' '.join(found[0][1]) or 'no override'}"
        )
    return jobs


def _name(record: JobRecord) -> str:
    return "run" if record.job_num is None else f"job {record.job_num}"


def _job(path: Path, name: str, record: JobRecord | None, state: str | None = None) -> JobDir:
    if record is None or not record.ok:
        return JobDir(path, name, record, state or (record.status if record else "no record"))
    holder = job_holder(path)
    if holder is not None:
        return JobDir(path, name, record, f"being trained by {holder.describe()}")
    return JobDir(path, name, record)


def load_job_config(job_dir: Path, data_dir: Path | None = None) -> DictConfig:
    """The config the job ran with: its resolved ``config.yaml`` (written before fitting)."""
    path = job_dir / RESOLVED_CONFIG_FILE
    if not path.is_file():
        raise ConfigError(
            f"no {path}: the job's resolved config is missing, so its network cannot be rebuilt"
        )
    cfg = OmegaConf.load(path)
    assert isinstance(cfg, DictConfig)
    if data_dir is not None:  # the data moved since the job ran
        cfg.data.data_dir = str(data_dir)
    # A transfer job's starting checkpoint is of no use to a test: its own weights are loaded.
    if "init_from" in cfg.model:
        cfg.model.init_from = None
    return cfg


def tested_checkpoint(job_dir: Path, record: JobRecord) -> tuple[Path, str]:
    """(path, as the record names it) of the checkpoint the job tested."""
    name = record.tested_checkpoint
    if name == FINAL_WEIGHTS:  # the last epoch's checkpoint holds the final weights
        name = record.last_checkpoint
    if not name:
        raise ConfigError(f"{job_dir}: the record names no tested checkpoint")
    path = Path(name) if Path(name).is_absolute() else job_dir / name
    if not path.is_file():
        raise ConfigError(f"missing checkpoint {path} (the record's tested checkpoint)")
    return path, str(record.tested_checkpoint)


def evaluate_job(job: JobDir, request: Request, sets: ShiftedSets | None = None) -> str:
    """Evaluate one finished job and write its record; the line that says what it did."""
    # Deferred: torch, torchvision, albumentations and cv2 (the corruption suite, ~4.5 s
    # on 2 cores; python -X importtime), which --help and a dir with no finished job never need.
    from auglab.shift.shifted_sets import DEFAULT_SUITE, SuiteSpec, suite_config

    record = job.record
    assert record is not None
    started = time.perf_counter()
    cfg = load_job_config(job.path, request.data_dir)
    spec = None
    if request.shift:
        base = cfg.get("shift") if request.suite is None else None
        if base is None:
            base = suite_config(request.suite or DEFAULT_SUITE)
        spec = SuiteSpec.from_config(base, request.corruptions, request.severity, request.seed)
        if not request.force and spec.done_in(record.shift):
            spec = None
    done = record.other_tests or {}
    others = [
        (label, dataset)
        for label, dataset in zip(request.labels(), request.datasets, strict=True)
        if request.force or label not in done
    ]
    if spec is None and not others:
        return f"{job.name}: already evaluated: skipped (--force evaluates again)"
    _quiet()
    # Deferred: Lightning and the data and model code (~1.8 s more on 2 cores),
    # loaded only once a job is to be tested: a rerun with nothing left to do stays quick.
    from auglab.job import build_data_and_model
    from auglab.scoring import describe, eval_trainer, other_test, score, shift_results

    path, checkpoint = tested_checkpoint(job.path, record)
    datamodule, model = build_data_and_model(cfg)
    trainer = eval_trainer(cfg)
    clean = score(trainer, model, datamodule, checkpoint=path)
    said = [f"test acc {_acc(clean.acc)}"]
    if clean.acc == record.test_acc:
        said[0] += " (as recorded)"
    else:
        said[0] += f" (recorded {_acc(record.test_acc)}: another device or precision?)"
    shift = None
    if spec is not None:
        shift = shift_results(trainer, model, datamodule, spec, checkpoint, sets, clean)
        said.append(describe(shift))
    results = {}
    for label, (dataset, overrides) in others:
        results[label] = other_test(trainer, model, datamodule, cfg, dataset, overrides, checkpoint)
        said.append(f"{label}: {_acc(results[label]['acc'])}")
    written = _write(job, record, shift, results)
    return f"{job.name}: {'; '.join(said)}{written} ({time.perf_counter() - started:.1f} s)"


def _write(job: JobDir, before: JobRecord, shift: dict | None, others: dict) -> str:
    """Add the results to the record as it is now, under the job's lock; '' when written,
    else why not."""
    lock = JobLock(job.path / LOCK_FILE, job.name)
    holder = lock.acquire()
    if holder is not None:
        return f"; not written: {job.path} is being trained by {holder.describe()}"
    try:
        now = read_record(job.path)
        if now is None or not now.ok or _trained(now) != _trained(before):
            return f"; not written: {job.path}'s record changed while it was evaluated"
        updated = replace(
            now,
            shift=shift if shift is not None else now.shift,
            other_tests={**(now.other_tests or {}), **others} or None,
        )
        write_record(updated, job.path)
    finally:
        lock.release()
    return ""


def _trained(record: JobRecord) -> tuple:
    """What identifies the trained and tested weights: results never change under us."""
    return (record.fingerprint, record.tested_checkpoint, record.test_acc, record.attempts)


def _acc(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def run(directory: Path, request: Request, pick: Pick | None = None) -> Tally:
    """Evaluate every finished job under ``directory`` that ``pick`` keeps, a line each."""
    from auglab.shift.shifted_sets import ShiftedSets  # deferred: torch (evaluate_job says)

    jobs = find_jobs(directory, pick)
    ready = [job for job in jobs if job.skip is None]
    tally = Tally()
    for job in jobs:
        if job.skip is not None:
            print(f"{job.name}: {job.skip}: skipped", flush=True)
            tally.skipped += 1
    if not ready:
        raise ConfigError(f"no finished job to evaluate in {directory} ({_states(jobs)})")
    skip_cuda_probe_without_gpu()
    keep_freed_memory()
    sets = ShiftedSets(keep=len(ready) > 1)  # a sweep's jobs share one test set
    for job in ready:
        try:
            line = evaluate_job(job, request, sets)
        except ConfigError as err:
            line = f"{job.name}: error: {err}"
            tally.failed.append(line)
        except Exception as err:
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                traceback.print_exc()
            line = f"{job.name}: error: {one_line(err)}"
            tally.failed.append(line)
        else:
            tally.evaluated += 1
        print(line, file=sys.stderr if line in tally.failed else sys.stdout, flush=True)
    return tally


def _states(jobs: Sequence[JobDir]) -> str:
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job.skip or "finished"] = counts.get(job.skip or "finished", 0) + 1
    return ", ".join(f"{n} {state}" for state, n in counts.items())


def main(argv: Sequence[str] | None = None) -> int:
    directory, request, pick = parse_args(argv)
    try:
        tally = run(directory, request, pick)
    except ConfigError as err:
        print(f"auglab: error: {err}", file=sys.stderr)
        return 2
    if tally.failed:
        print(
            f"auglab: {len(tally.failed)} of {tally.evaluated + len(tally.failed)} jobs failed "
            "to evaluate (above)",
            file=sys.stderr,
        )
        return 1
    return 0


def _quiet() -> None:
    """Lightning's start-up notes and warnings, once per job, would drown the one line."""
    import lightning  # noqa: F401  (it sets its loggers' levels when imported)

    warnings.filterwarnings("ignore", module=r"lightning\..*")
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)


def cli() -> None:
    """``main``, then end the process at once: every record is written by then, and Python's
    own teardown of torch and Lightning would add ~1.3 s (see ``auglab.process.cli``)."""
    end_now(main())


if __name__ == "__main__":
    cli()
