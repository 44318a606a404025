"""Build time of the sweep report (``auglab.report.make_report``) of a synthetic 500-job sweep.

off at 8 sizes x 5 subsets x 5 seeds (200 jobs), rotate the same (200), elastic and a
regularisation (dropout) at 3 sizes x 5 x 5 (75 each): 550 finished job records with a plan,
error = 2·n^-0.5 + 0.01 at an effective size, scaled per subset and seed. The report fits
off's curve and bootstraps every exchange rate (1,000 resamples), so this is the cost a
user waits for at the end of a sweep.

    python bench/report_build.py

Measured on the shared 2-core dev machine (2026-12-04, idle): 0.85 s per build, of which
report.png is ~0.6 s and the analysis (fit, 1,000 bootstrap refits, rates, head-to-head)
~0.2 s; main before the fitted curve: 0.53 s. Under load from other processes: 1.5-2.7 s.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from auglab.plan import PlanEntry, SweepPlan, write_plan
from auglab.record import JobRecord, write_record
from auglab.report import make_report

SUBSETS = {0: 1.0, 1: 1.06, 2: 0.95, 3: 1.03, 4: 0.97}
ALL_SIZES = (50, 100, 200, 500, 1000, 2000, 5000, 10000)
#: setting -> (aug, reg, gain in effective images, sizes)
SETTINGS = {
    "off": ("off", None, 1.0, ALL_SIZES),
    "rotate": ("rotate", None, 1.8, ALL_SIZES),
    "elastic": ("elastic", None, 2.5, (100, 1000, 10000)),
    "dropout": ("off", "dropout", 1.5, (100, 1000, 10000)),
}


def write_sweep(sweep: Path) -> int:
    entries = []
    for aug, reg, gain, sizes in SETTINGS.values():
        for n in sizes:
            for subset, effect in SUBSETS.items():
                for seed in range(5):
                    num = len(entries)
                    overrides = [f"data.size={n}", f"aug={aug}", f"data.subset_seed={subset}"]
                    overrides += [f"seed={seed}"] + ([f"reg={reg}"] if reg else [])
                    acc = 1 - (2.0 * (gain * n) ** -0.5 + 0.01) * effect * (1 + 0.01 * (seed - 2))
                    record = JobRecord(
                        status="finished", job_num=num, overrides=overrides, fingerprint=f"fp{num}",
                        test_acc=acc, val_acc_best=acc + 0.001, train_size=n, aug=aug,
                        aug_strength=1.0, reg=reg, reg_strength=1.0 if reg else None, seed=seed,
                    )  # fmt: skip
                    (sweep / str(num)).mkdir(parents=True)
                    write_record(record, sweep / str(num))
                    entries.append(PlanEntry(num, tuple(overrides), f"fp{num}"))
    write_plan(sweep, SweepPlan(tuple(e.job_num for e in entries), tuple(entries)))
    return len(entries)


def main() -> None:
    sweep = Path(tempfile.mkdtemp()) / "sweep"
    jobs = write_sweep(sweep)
    for _ in range(3):
        start = time.perf_counter()
        make_report(sweep)
        print(f"{jobs} jobs: make_report {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
