"""Before a sweep launches: about how long its jobs take on this machine, and how to shrink it.

The sweeper's plan line (``Sweep of N jobs: ...``) gains a tail from here: the time, from a
few seconds of pilot training of the first job to run (``auglab.pilot``: measured per-image
costs, scaled to each job's images and epochs), and the swept keys whose values multiply
the grid. ``hydra.sweeper.estimate``: ``auto`` pilots sweeps of at least
``AUTO_MIN_JOBS`` jobs (a smaller one starts at once), ``true`` always, ``false`` never.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

from omegaconf import DictConfig, OmegaConf

from auglab.errors import ConfigError, one_line

log = logging.getLogger(__name__)

#: ``estimate: auto`` pilots sweeps of at least this many jobs to run: a pilot costs ~5 s
#: (Lightning's import, the data, a few steps), noise beside them, not beside a couple.
AUTO_MIN_JOBS = 8
MODES = ("auto", True, False)


def check_estimate(value: object) -> str | bool:
    """``hydra.sweeper.estimate``: auto, true or false (YAML's and Hydra's spellings)."""
    text = str(value).strip().lower()
    mode = {"auto": "auto", "true": True, "false": False}.get(text)
    if mode is None:
        raise ConfigError(
            f"hydra.sweeper.estimate={value!r} is unknown: use auto (a pilot for sweeps of "
            f"{AUTO_MIN_JOBS} jobs or more), true or false"
        )
    return mode


def swept_values(combos: Sequence[Sequence[str]]) -> dict[str, int]:
    """How many values each key takes over the combinations, for the keys with more than one."""
    values: dict[str, set[str]] = {}
    for combo in combos:
        for override in combo:
            key, _, value = override.partition("=")
            values.setdefault(key.lstrip("+~"), set()).add(value)
    return {key: len(seen) for key, seen in values.items() if len(seen) > 1}


def shrink_hint(swept: Mapping[str, int], epochs: object) -> str:
    """``shrink with fewer values of data.size (3), aug (4) or data.subset_seed (2), or a
    lower trainer.max_epochs (30)``: what multiplies the grid, and what lengthens each job."""
    keys = [f"{key} ({n})" for key, n in swept.items()]
    fewer = ""
    if keys:
        listed = keys[0] if len(keys) == 1 else f"{', '.join(keys[:-1])} or {keys[-1]}"
        fewer = f"fewer values of {listed}, or "
    return f"shrink with {fewer}a lower trainer.max_epochs ({epochs})"


def duration(seconds: float) -> str:
    """``1 h 20 min``, ``12 min``, ``40 s``."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def plan_estimate(
    mode: str | bool,
    configs: Sequence[DictConfig],
    width: int,
    threads: int,
    swept: Mapping[str, int],
    cluster: bool = False,
) -> str:
    """The plan line's tail for the ``configs`` to run, ``width`` at a time on ``threads``
    torch threads each: ``about 1 h 20 min on this machine (...); shrink with ...``, or ""
    when there is nothing to say (nothing to run, or a small sweep under ``auto``)."""
    if not configs or mode is False or (mode == "auto" and len(configs) < AUTO_MIN_JOBS):
        return ""
    shrink = shrink_hint(swept, _epochs(configs[0]))
    if cluster:
        return f"; they run on the cluster's nodes, not timed here; {shrink}"
    started = time.perf_counter()
    try:
        # Lightning, torch, the data and model code: ~3 s, paid only when a sweep is timed
        from auglab.pilot import measure

        costs = measure(configs[0], threads, import_s=time.perf_counter() - started)
        seconds = [costs.job_seconds(cfg) for cfg in configs]
    except Exception as err:  # the first job's own run will say what is wrong with it
        log.debug("pilot failed", exc_info=True)
        return (
            f"; time not estimated (the pilot of the first job failed: {one_line(err)}); {shrink}"
        )
    total = sum(seconds) / max(1, min(width, len(configs)))
    at_once = f"{width} at a time, " if width > 1 else ""
    return (
        f"; about {duration(total)} on this machine ({at_once}{duration(sum(seconds) / len(seconds))} "
        f"a job at most, from a {costs.seconds:.0f} s pilot of the first: {costs.start_s:.1f} s "
        f"to start, {costs.train_image_s * 1e3:.2f} ms per training image, "
        f"{costs.eval_image_s * 1e3:.2f} ms per evaluated one); {shrink}"
    )


def _epochs(cfg: DictConfig) -> object:
    try:
        return OmegaConf.select(cfg, "trainer.max_epochs", default=None)
    except Exception:
        return None
