"""The end of ``report.md``: the planned jobs not in the results yet, each with what it is
doing (running elsewhere, stopped, not started...), and the failed and diverged jobs."""

from __future__ import annotations

from collections.abc import Sequence

from auglab.plan import PLAN_FILE, PlannedJob
from auglab.record import JobRecord


def unfinished(missing: Sequence[PlannedJob] | None, failed: Sequence[JobRecord]) -> list[str]:
    """The "Missing jobs" and "Failed and diverged jobs" sections (None: no plan)."""
    lines: list[str] = []
    if missing:
        lines += [f"## Missing jobs ({len(missing)})", ""]
        lines += [
            f"- job {m.entry.job_num}: `{' '.join(m.entry.overrides)}` ({why_missing(m)})"
            for m in missing
        ]
        lines.append("")
    elif missing is None:
        lines += [
            f"Expected jobs unknown: no {PLAN_FILE} (a sweep dir from before plans): "
            "every job record in it is reported.",
            "",
        ]
    if failed:
        lines += [f"## Failed and diverged jobs ({len(failed)}), left out of the means", ""]
        lines += [f"- {r.failure_line()}" for r in failed]
        lines.append("")
    return lines


def why_missing(job: PlannedJob) -> str:
    """``running elsewhere: host pid 123 since 13:20:01``, ``not started``..."""
    state = job.state
    if state == "running elsewhere" and job.holder is not None:
        return f"{state}: {job.holder.describe()}"
    if state == "stopped":
        return "stopped: started, then its process died; a rerun resumes it"
    if state == "interrupted":
        error = job.record.error if job.record is not None else None
        return f"interrupted: {error}" if error else "interrupted; a rerun resumes it"
    if state == "not started" and job.entry.error:
        return f"not started; its config does not compose: {job.entry.error}"
    return state
