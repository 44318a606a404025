"""A job's task overrides as keys and values: which keys a sweep varies, and what each job
set them to. The summary table shows them as columns; the report groups settings by them."""

from __future__ import annotations

from collections.abc import Sequence

from auglab.record import JobRecord


def parse_override(override: str) -> tuple[str, str]:
    """``+data.size=100`` -> ``("data.size", "100")``."""
    key, _, value = str(override).partition("=")
    return key.lstrip("+~"), value


def job_overrides(records: Sequence[JobRecord]) -> list[dict[str, str]]:
    """Each job's task overrides as ``{key: value}`` (Hydra's own keys left out)."""
    return [
        dict(parse_override(o) for o in r.overrides if not o.startswith("hydra.")) for r in records
    ]


def varying_keys(overrides: Sequence[dict[str, str]]) -> list[str]:
    """Override keys whose value is not the same in every job, in first-seen order."""
    keys = dict.fromkeys(k for o in overrides for k in o)
    return [k for k in keys if len({o.get(k) for o in overrides}) > 1]
