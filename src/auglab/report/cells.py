"""A sweep's finished jobs as cells: one per setting and training-set size, its draws
(subset seeds and seeds) averaged. A setting is the augmentation plus any other override
the jobs differ in; with a selection, those other overrides are tuned on validation instead.

A job's draws are its (subset seed, seed) (``JobRecord.draws``): a cell averages over all
of them, and two settings are compared job by job with the same draws (``effects``)."""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from auglab.record import JobRecord, selection_metric
from auglab.report.overrides import job_overrides, parse_override, varying_keys
from auglab.stats import Interval, VarianceSplit, t_interval, variance_split

log = logging.getLogger(__name__)

#: Overrides that place a job on the plot (x, line, draws) rather than name another setting.
PLACED_BY = ("data.size", "seed", "aug", "reg", "data.synthetic_size", "data.subset_seed")
#: Placed on the plot unless a selection tunes it: each preset (augmentation or
#: regularisation) then runs at its best strength, both chosen jointly per draw.
TUNED_BY_SELECT = ("aug.strength", "reg.strength")
#: The preset each strength scales: a strength of a preset that is off is no choice.
SCALES = {"aug.strength": "aug", "reg.strength": "reg"}
#: The reference setting: no augmentation, real images only.
OFF = "off"


@dataclass(frozen=True)
class Cell:
    """The jobs of one setting at one training-set size: one point of the plot.

    ``setting`` is the full label: the augmentation (``aug``) plus any other override
    the jobs differ in (``others``, e.g. ``optim=sgd``). With a selection, ``chosen``
    names, for each job, the values of the tuned overrides it was chosen for.
    """

    setting: str
    train_size: int
    jobs: tuple[JobRecord, ...]
    aug: str = ""
    others: tuple[str, ...] = ()
    chosen: tuple[str, ...] = ()
    # With a selection: each tuned strength key and the values it was chosen among here.
    grid: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def accs(self) -> tuple[float, ...]:
        return tuple(float(j.test_acc) for j in self.jobs)

    @property
    def losses(self) -> tuple[float, ...]:
        return tuple(float(j.test_loss) for j in self.jobs if j.test_loss is not None)

    @property
    def seeds(self) -> tuple[Any, ...]:
        return tuple(j.seed for j in self.jobs)

    @property
    def subset_seeds(self) -> tuple[int | None, ...]:
        """The distinct subset seeds of its jobs (None: the fixed slices), in job order."""
        return tuple(dict.fromkeys(j.subset_seed for j in self.jobs))

    @property
    def mean(self) -> float:
        return statistics.fmean(self.accs)

    @property
    def std(self) -> float | None:
        """Sample standard deviation over its runs; None for a single run."""
        return statistics.stdev(self.accs) if len(self.accs) > 1 else None

    @property
    def interval(self) -> Interval:
        return t_interval(self.accs)

    def by_draws(self) -> dict[tuple[int | None, Any], JobRecord]:
        """The job of each (subset seed, seed) (the first, should one appear twice)."""
        found: dict[tuple[int | None, Any], JobRecord] = {}
        for job in self.jobs:
            if job.seed is not None:
                found.setdefault(job.draws, job)
        return found

    def spread(self) -> VarianceSplit | None:
        """Its test accuracy's variance split into subset, seed and residual; None unless
        it ran at least 2 subsets x 2 seeds."""
        return variance_split({k: float(j.test_acc) for k, j in self.by_draws().items()})


def setting_label(
    job: JobRecord, with_strength: bool = True, with_reg_strength: bool | None = None
) -> str:
    """``off``, ``on``, ``on x0.5`` (strength), ``dropout x2``, ``elastic+weight_decay x0.5``
    (augmentation and regularisation), plus `` synthetic N``; from the record.

    ``off`` only when both the augmentation and the regularisation are off.
    ``with_strength=False`` (a selection that tunes the strength): ``on`` at any strength;
    ``with_reg_strength`` the same for ``reg.strength`` (None: as ``with_strength``).
    Older files lack ``aug``/``aug_strength``/``synthetic_size``/``reg``: the job's
    overrides stand in, then the defaults of ``conf/train.yaml`` (aug off, strength 1).
    """
    overrides = dict(parse_override(o) for o in job.overrides)
    with_reg_strength = with_strength if with_reg_strength is None else with_reg_strength
    parts = [
        _preset(job.aug, job.aug_strength, overrides, "aug", with_strength),
        _preset(job.reg, job.reg_strength, overrides, "reg", with_reg_strength),
    ]
    label = "+".join(p for p in parts if p) or OFF
    synthetic = (
        job.synthetic_size
        if job.synthetic_size is not None
        else overrides.get("data.synthetic_size")
    )
    if synthetic not in (None, "", "null"):
        label += f" synthetic {int(float(synthetic))}"
    return label


def _preset(
    name: str | None, strength: float | None, overrides: dict[str, str], key: str, scaled: bool
) -> str:
    """``elastic``, ``elastic x1.5``; "" when off (no preset, ``off``, or strength 0)."""
    name = name or overrides.get(key) or OFF
    if strength is None:
        strength = overrides.get(f"{key}.strength")
    strength = 1.0 if strength in (None, "", "null") else float(strength)
    if name == OFF or (key == "reg" and name in ("none", "null")) or strength == 0:
        return ""
    return str(name) if strength == 1 or not scaled else f"{name} x{strength:g}"


def preset_on(job: JobRecord, key: str) -> bool:
    """Whether the job's augmentation (``key`` "aug") or regularisation ("reg") is on."""
    overrides = dict(parse_override(o) for o in job.overrides)
    strength = getattr(job, f"{key}_strength")
    return bool(_preset(getattr(job, key), strength, overrides, key, False))


def cells(jobs: Sequence[JobRecord], select: str | None = None) -> list[Cell]:
    """Finished jobs grouped by setting and training-set size; a group's draws (subset
    seeds and seeds) are averaged.

    Any other override the jobs differ in (``optim=sgd``...) is part of the setting,
    so runs of different recipes are never averaged together. Failed and diverged
    jobs have no accuracy to average: they are left out (the report lists them).

    With ``select`` (a validation metric), those other overrides are tuned instead:
    for each setting, size and draws the job with the best ``select`` value stands for
    all of them (ties: the earlier job), and ``Cell.chosen`` says which values won.
    A selection also tunes each preset's ``aug.strength`` and ``reg.strength``
    (``TUNED_BY_SELECT``) where they vary, jointly (the best job of the draw, whatever its
    pair of strengths); a preset that is off has nothing to scale, so no strength is ever
    chosen for it (none for ``off``).
    """
    jobs = [j for j in jobs if j.ok]
    overrides = job_overrides(jobs)
    select = selection_metric(select)
    other = other_keys(overrides, select)
    tuned = {k: k in other for k in TUNED_BY_SELECT}
    entries: list[tuple[JobRecord, str, tuple[str, ...]]] = []
    for job, job_values in zip(jobs, overrides, strict=True):
        if job.train_size is None or job.test_acc is None:
            log.warning("Job %s has no train_size or test_acc: left out", job.job_num)
            continue
        label = setting_label(job, not tuned["aug.strength"], not tuned["reg.strength"])
        keys = [
            k for k in other if k in job_values and (k not in SCALES or preset_on(job, SCALES[k]))
        ]
        values = tuple(f"{k}={job_values[k]}" for k in keys)
        entries.append((job, label, values))
    groups: dict[tuple[str, tuple[str, ...], int], list[tuple[JobRecord, str]]] = {}
    if select is None or not other:
        for job, aug, values in entries:
            groups.setdefault((aug, values, int(job.train_size)), []).append((job, ""))
    else:
        for (aug, size), picks in _select(entries, select).items():
            groups[aug, (), size] = picks
    result = [
        Cell(
            setting=", ".join([aug, *values]),
            train_size=size,
            jobs=tuple(job for job, _ in group),
            aug=aug,
            others=values,
            chosen=tuple(chosen for _, chosen in group) if select and other else (),
            grid=strength_grid(entries, aug, size) if select and other else (),
        )
        for (aug, values, size), group in groups.items()
    ]
    return sorted(result, key=lambda c: (c.aug != OFF, c.setting, c.train_size))


def strength_grid(
    entries: Sequence[tuple[JobRecord, str, tuple[str, ...]]], label: str, size: int
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The strengths a selection chose among for one setting and size, per tuned key."""
    found: dict[str, dict[str, None]] = {}
    for job, aug, values in entries:
        if aug != label or int(job.train_size) != size:
            continue
        for key, value in (parse_override(v) for v in values):
            if key in TUNED_BY_SELECT:
                found.setdefault(key, {})[value] = None
    return tuple((key, tuple(values)) for key, values in found.items())


def other_keys(overrides: Sequence[dict[str, str]], select: str | None = None) -> list[str]:
    """Swept keys that name another recipe (``optim.lr``), not a place on the plot; with a
    selection also the strength (``TUNED_BY_SELECT``), tuned like any other."""
    tuned = TUNED_BY_SELECT if selection_metric(select) else ()
    return [k for k in varying_keys(overrides) if k in tuned or not k.startswith(PLACED_BY)]


def _select(
    entries: Sequence[tuple[JobRecord, str, tuple[str, ...]]], metric: str
) -> dict[tuple[str, int], list[tuple[JobRecord, str]]]:
    """Per (setting, size): for each draws, the job whose ``metric`` is best, and its values."""
    higher = "loss" not in metric
    candidates: dict[tuple[str, int, Any], list[tuple[JobRecord, str]]] = {}
    for job, aug, values in entries:
        key = (aug, int(job.train_size), job.draws)
        if job.metric(metric) is None:
            log.warning("Job %s has no %s: it cannot be chosen", job.job_num, metric)
            continue
        candidates.setdefault(key, []).append((job, " ".join(values) or "defaults"))
    picked: dict[tuple[str, int], list[tuple[JobRecord, str]]] = {}
    for (aug, size, _draws), group in candidates.items():
        best = max(group, key=lambda item: item[0].metric(metric) * (1 if higher else -1))
        picked.setdefault((aug, size), []).append(best)
    return picked


def setting_keys(jobs: Sequence[JobRecord], select: str | None = None) -> list[str]:
    """The config keys that make a setting, as W&B groups runs: the preset (and the
    regularisation where some job has one), its strength where it varies, and the other swept keys, unless a selection tunes them (the strength
    too). Group choices (``optim=sgd``) are no config value: left out."""
    finished = [j for j in jobs if j.ok]
    keys = ["aug.name"]
    if select is None and len({j.aug_strength for j in finished}) > 1:
        keys.append("aug.strength")
    if any(preset_on(j, "reg") for j in finished):  # conf/reg: name, strength
        keys.append("reg.name")
        if select is None and len({j.reg_strength for j in finished}) > 1:
            keys.append("reg.strength")
    if select is None:
        keys += [k for k in other_keys(job_overrides(finished)) if "." in k]
    return keys
