"""A sweep's plan: which job directory holds which config, written once per sweep dir.

The sweeper composes every combination of the swept values before launching anything
and writes ``plan.json`` into the sweep dir: each job's number (its directory), its task
overrides and the fingerprint of its composed config. A job directory belongs to one
fingerprint forever:

- rerunning the same command finds every job under its old number (finished ones are
  skipped, the others resume);
- extending the grid (new values, a new key) keeps the number of every job whose config
  is unchanged and gives each new combination a new number after the last one, so a
  finished job is never taken for another config and its files are never touched;
- the summary and the report show exactly the jobs of the latest sweep (``grid``).

The fingerprint hashes the config as Hydra composes it from the files and overrides,
before interpolation, leaving out what cannot change a result (``hydra.*``, threads,
output, data and logger dirs, the loggers, the sweeper's metric, the end-of-job corruption
suite): moving the data dir or switching W&B off does not make a job new. A preset with
nothing to scale (``aug=off``) is fingerprinted at strength 1 whatever ``aug.strength``
says, so ``aug=off,on aug.strength=1,0.5,2`` plans (and trains) ``off`` once, not three times.
``reg=off`` (no regularisation, at any ``reg.strength``) is left out, as configs were
before ``reg`` existed. Likewise ``data.size=all`` (or 1.0) is fingerprinted as null without its subset seed: every
draw of the whole pool is the same job, trained once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from auglab import atomic
from auglab.lock import Holder, JobLock, job_holder
from auglab.record import JobRecord, read_record

log = logging.getLogger(__name__)

PLAN_FILE = "plan.json"
#: The Hydra override by which the sweeper puts each job in the directory of its number.
SUBDIR_OVERRIDE = "hydra.sweep.subdir"
#: In each job dir: the composed config the record's fingerprint was made from.
COMPOSED_FILE = "composed.yaml"
#: Top-level keys that never change what a job computes.
NOT_RESULTS = (
    "hydra",
    "threads",
    "output_dir",
    "log_dir",
    "root_dir",
    "data_dir",
    "paths",
    "logger",
    "optimized_metric",
    "shift",  # the corruption suite tested at the end: training and test results are the same
)
#: Keys added after plans existed, at the value that does what configs without them did (a
#: third item: for that ``_target_`` alone): left out then, so old jobs keep their fingerprints.
NEUTRAL_DEFAULTS = {("data", "subset_seed"): None, ("data", "val_size"): None} | {
    ("data", "val_size", "auglab.data.MNISTDataModule"): 5000  # E1's fixed split
}
_VERSION = 1
#: The values of a regularisation setting (conf/reg): all zero is no regularisation.
REG_PARTS = ("weight_decay", "dropout", "label_smoothing")


def composed(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The part of a job's config that decides its results, as plain data (unresolved)."""
    data = OmegaConf.to_container(cfg, resolve=False) if isinstance(cfg, DictConfig) else dict(cfg)
    assert isinstance(data, dict)
    result = {k: v for k, v in data.items() if k not in NOT_RESULTS}
    for (group, key, *target), neutral in NEUTRAL_DEFAULTS.items():
        section = result.get(group)
        ours = isinstance(section, dict) and target in ([], [section.get("_target_")])
        if ours and repr(section.get(key, _ABSENT)) == repr(neutral):  # 5000, not 5000.0
            result[group] = {k: v for k, v in section.items() if k != key}  # a copy: cfg untouched
    data_section = result.get("data")
    if isinstance(data_section, dict) and _whole_pool(data_section.get("size")):
        # `all` and 1.0 are null's job, and every subset seed draws the whole pool: one job
        result["data"] = {k: v for k, v in data_section.items() if k != "subset_seed"}
        result["data"]["size"] = None
    reg = result.get("reg")
    if isinstance(reg, dict) and not any(reg.get(k) for k in REG_PARTS):
        # reg=off (at any reg.strength): what configs did before `reg` existed
        del result["reg"]
    aug = result.get("aug")
    if isinstance(aug, dict) and not aug.get("transforms") and "strength" in aug:
        # Nothing it could scale: the same job at any strength, `aug.strength=1` (an int) too.
        strength = aug["strength"]
        if not (type(strength) is float and strength == 1.0):
            result["aug"] = {**aug, "strength": 1.0}
    return result


def _whole_pool(size: Any) -> bool:
    """``data.size=all`` (any case) or the fraction 1.0: the whole pool. Null is left as it
    was fingerprinted before ``all`` existed (with its subset seed), so old dirs keep theirs."""
    if isinstance(size, str):
        return size.strip().lower() == "all"
    return type(size) is float and size == 1.0


def fingerprint(cfg: DictConfig | Mapping[str, Any]) -> str:
    """16 hex digits of SHA-256 over ``composed(cfg)`` as sorted JSON."""
    text = json.dumps(composed(cfg), sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def differences(old: Mapping[str, Any], new: Mapping[str, Any], limit: int = 3) -> str:
    """``optim.lr: 0.001 -> 0.01; seed: 0 -> 1`` (at most ``limit``, then ``and N more``)."""
    a, b = _flat(composed(old)), _flat(composed(new))
    changed = [k for k in dict.fromkeys([*a, *b]) if a.get(k, _ABSENT) != b.get(k, _ABSENT)]
    shown = [f"{k}: {a.get(k, _ABSENT)} -> {b.get(k, _ABSENT)}" for k in changed]
    more = f"; and {len(shown) - limit} more" if len(shown) > limit else ""
    return "; ".join(shown[:limit]) + more or "no difference in the composed config"


def write_composed(cfg: DictConfig, job_dir: Path) -> None:
    atomic.write_text(Path(job_dir) / COMPOSED_FILE, yaml.safe_dump(composed(cfg), sort_keys=True))


def read_composed(job_dir: Path) -> dict[str, Any] | None:
    """The composed config a job dir was made for: ``composed.yaml``, or for job dirs made
    before it existed, Hydra's ``.hydra/config.yaml`` (read before Hydra rewrites it)."""
    for path in (Path(job_dir) / COMPOSED_FILE, Path(job_dir) / ".hydra" / "config.yaml"):
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(data, dict):
            return composed(data)
    return None


def dir_fingerprint(job_dir: Path, recorded: str | None = None) -> str | None:
    """The fingerprint a job dir belongs to: the record's, else its composed config's."""
    if recorded:
        return recorded
    found = read_composed(job_dir)
    return None if found is None else fingerprint(found)


def other_config(job_dir: Path, cfg: DictConfig | Mapping[str, Any]) -> str | None:
    """What differs (``optim.lr: 0.001 -> 0.01``) when ``job_dir`` holds a record or a
    composed config of another config than ``cfg``; None when it is ``cfg``'s or empty."""
    record = read_record(job_dir)
    theirs = dir_fingerprint(job_dir, record.fingerprint if record else None)
    if theirs is None or theirs == fingerprint(cfg):
        return None
    return differences(read_composed(job_dir) or {}, composed(cfg))


@dataclass(frozen=True)
class PlanEntry:
    """One job of a sweep dir. ``fingerprint`` is None for a combination that does not
    compose (its ``error`` says why): such an entry is matched by its overrides."""

    job_num: int
    overrides: tuple[str, ...]
    fingerprint: str | None
    error: str | None = None

    @property
    def key(self) -> str:
        return self.fingerprint or "overrides:" + json.dumps(sorted(self.overrides))


@dataclass(frozen=True)
class SweepPlan:
    """``grid``: the latest sweep's job numbers, in Hydra's order; ``jobs``: every job
    ever planned in this sweep dir (numbers are never given to another config)."""

    grid: tuple[int, ...]
    jobs: tuple[PlanEntry, ...]

    def entries(self) -> list[PlanEntry]:
        by_num = {e.job_num: e for e in self.jobs}
        return [by_num[n] for n in self.grid]

    def whole(self) -> SweepPlan:
        """Every job ever planned, in job order: a study run as several sweeps into one dir."""
        return SweepPlan(tuple(sorted(e.job_num for e in self.jobs)), self.jobs)


@dataclass(frozen=True)
class Planned:
    """A combination the sweeper composed: its overrides and fingerprint (or error), and
    its augmentation preset when that has nothing to scale (``aug=off``: see ``composed``)."""

    overrides: tuple[str, ...]
    fingerprint: str | None
    error: str | None = None
    unscaled: str | None = None

    @property
    def key(self) -> str:
        return PlanEntry(0, self.overrides, self.fingerprint).key


def unscaled_preset(cfg: DictConfig | Mapping[str, Any]) -> str | None:
    """``aug=<name>`` when the config's augmentation has nothing ``aug.strength`` scales."""
    aug = cfg.get("aug")
    if aug is None or aug.get("transforms") or "strength" not in aug:
        return None
    return f"aug={aug.get('name') or 'off'}"


def same_jobs(combos: Sequence[Planned]) -> str | None:
    """One line when some combinations are the same job (one fingerprint), naming the
    keys whose values make no difference there; None when every combination is its own."""
    groups: dict[str, list[Planned]] = {}
    for combo in combos:
        groups.setdefault(combo.key, []).append(combo)
    alike = [group for group in groups.values() if len(group) > 1]
    if not alike:
        return None
    keys = sorted({key for group in alike for key in _varying(group)})
    head = f"{len(combos)} combinations are {len(groups)} job{'' if len(groups) == 1 else 's'}"
    presets = sorted({c.unscaled for group in alike for c in group if c.unscaled})
    if keys == ["aug.strength"] and presets:
        return f"{head}: {', '.join(presets)} trains the same at every aug.strength"
    if not keys:
        return f"{head}: some combinations are listed twice"
    return f"{head}: combinations that differ only in {', '.join(keys)} are the same config"


def _varying(group: Sequence[Planned]) -> set[str]:
    """The override keys whose values differ among ``group``'s combinations."""
    values: dict[str, set[str]] = {}
    for combo in group:
        for override in combo.overrides:
            key, _, value = override.partition("=")
            values.setdefault(key.lstrip("+~"), set()).add(value)
    sets = [{o.partition("=")[0].lstrip("+~") for o in c.overrides} for c in group]
    missing = set.union(*sets) - set.intersection(*sets)
    return {key for key, seen in values.items() if len(seen) > 1} | missing


def read_plan(sweep_dir: Path) -> SweepPlan | None:
    """The plan in ``sweep_dir``; None when there is none or it cannot be read."""
    try:
        data = json.loads((Path(sweep_dir) / PLAN_FILE).read_text())
        jobs = tuple(
            PlanEntry(
                int(j["job_num"]), tuple(j["overrides"]), j.get("fingerprint"), j.get("error")
            )
            for j in data["jobs"]
        )
        return SweepPlan(tuple(int(n) for n in data["grid"]), jobs)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_plan(sweep_dir: Path, plan: SweepPlan) -> Path:
    data = {"version": _VERSION, "grid": list(plan.grid), "jobs": [asdict(e) for e in plan.jobs]}
    path = Path(sweep_dir) / PLAN_FILE
    atomic.write_text(path, json.dumps(data, indent=1, allow_nan=False) + "\n")
    return path


def extend_plan(sweep_dir: Path, combos: Sequence[Planned]) -> SweepPlan:
    """Merge this sweep's combinations into the sweep dir's plan and write it.

    A combination whose fingerprint is already planned (or whose job dir from before
    plans existed has the same composed config) keeps that number; any other gets the
    next free number. Holds the plan's lock while it reads and writes, so two sweeps
    started at once into one dir agree on every number.
    """
    sweep_dir = Path(sweep_dir)
    with JobLock(sweep_dir / f".{PLAN_FILE}.lock", "the sweep plan").held(wait_s=60):
        old = read_plan(sweep_dir)
        jobs = list(old.jobs) if old else []
        jobs += _adopted(sweep_dir, {e.job_num for e in jobs})
        by_key = {e.key: e for e in jobs}
        taken = {e.job_num for e in jobs} | set(_numbered_dirs(sweep_dir))
        next_num = max(taken, default=-1) + 1
        grid: list[int] = []
        for combo in combos:
            entry = by_key.get(combo.key)
            if entry is None:
                entry = PlanEntry(next_num, combo.overrides, combo.fingerprint, combo.error)
                next_num += 1
                jobs.append(entry)
                by_key[entry.key] = entry
            if entry.job_num not in grid:
                grid.append(entry.job_num)
        plan = SweepPlan(tuple(grid), tuple(sorted(jobs, key=lambda e: e.job_num)))
        write_plan(sweep_dir, plan)
    return plan


def _adopted(sweep_dir: Path, known: Iterable[int]) -> list[PlanEntry]:
    """Job dirs written before this sweep dir had a plan, taken in under their numbers."""
    known, found = set(known), []
    for num in (n for n in _numbered_dirs(sweep_dir) if n not in known):
        config = read_composed(sweep_dir / str(num))
        fp = None if config is None else fingerprint(config)
        found.append(PlanEntry(num, _hydra_overrides(sweep_dir / str(num)), fp))
    return found


def _hydra_overrides(job_dir: Path) -> tuple[str, ...]:
    try:
        data = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return ()
    return tuple(str(o) for o in data) if isinstance(data, list) else ()


def _numbered_dirs(sweep_dir: Path) -> list[int]:
    try:
        return sorted(int(p.name) for p in Path(sweep_dir).iterdir() if p.name.isdigit())
    except OSError:
        return []


class _Absent:
    def __repr__(self) -> str:  # str() and f-strings show it so too
        return "(absent)"


_ABSENT = _Absent()


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out or {prefix.rstrip("."): {}}
    return {prefix.rstrip("."): data}


@dataclass(frozen=True)
class PlannedJob:
    """A job of the latest sweep as its directory shows it now."""

    entry: PlanEntry
    job_dir: Path
    record: JobRecord | None  # None: not started (or the dir holds another config's record)
    holder: Holder | None  # a fresh lock: some process is training it right now

    @property
    def state(self) -> str:
        """finished, failed, diverged, interrupted, running elsewhere, stopped (its process
        died: a rerun resumes it) or not started."""
        if self.record is not None and self.record.ended:
            return self.record.status
        if self.holder is not None:
            return "running elsewhere"
        return "not started" if self.record is None else "stopped"

    def as_record(self) -> JobRecord:
        """The record, or a stand-in that says the job's state (for the summary's rows)."""
        if self.record is not None and self.record.ended:
            return self.record
        base = self.record or JobRecord(
            status="running", overrides=list(self.entry.overrides), job_num=self.entry.job_num
        )
        return replace(base, status="running", error=self.state)


def planned_jobs(sweep_dir: Path, plan: SweepPlan | None = None) -> list[PlannedJob] | None:
    """Each job of the sweep dir's latest grid with its record and lock; None without a plan.

    A record whose fingerprint is not the planned one belongs to another config and is
    never shown for this job (it cannot happen through the sweeper; a hand-copied dir can).
    """
    plan = plan or read_plan(sweep_dir)
    if plan is None:
        return None
    jobs = []
    for entry in plan.entries():
        job_dir = Path(sweep_dir) / str(entry.job_num)
        record = read_record(job_dir)
        if (
            record is not None
            and entry.fingerprint is not None
            and dir_fingerprint(job_dir, record.fingerprint) != entry.fingerprint
        ):
            log.warning("job %d: %s holds another config's record: ignored", entry.job_num, job_dir)
            record = None
        jobs.append(PlannedJob(entry, job_dir, record, job_holder(job_dir)))
    return jobs


def job_number(hydra_cfg: Any) -> int | None:
    """This job's number in its sweep: the subdir the sweeper gave it, else Hydra's."""
    for override in hydra_cfg.overrides.hydra or []:
        key, _, value = str(override).partition("=")
        if key == SUBDIR_OVERRIDE and value.isdigit():
            return int(value)
    return hydra_cfg.job.get("num")
