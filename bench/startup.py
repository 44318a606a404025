"""What a process pays before its first step and after its last: imports and teardown.

    python bench/startup.py [--repeats 3]

For each module, a fresh interpreter imports it and exits; printed are the import
time (measured inside), the whole process's wall time with Python's normal exit,
and with ``os._exit`` right after the import. The difference of the last two is
Python's teardown of what was loaded, which ``auglab.train.cli`` skips after a
single run once every file is written. ``auglab.train`` is what a sweep's parent
process and a skipped job load; ``auglab.job`` is what a training job adds.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

MODULES = ("torch", "torchvision", "lightning", "wandb", "auglab.train", "auglab.job")
CODE = "import time; t = time.perf_counter(); import {m}; print(time.perf_counter() - t){exit}"


def once(module: str, quick_exit: bool) -> tuple[float, float]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CODE.format(m=module, exit="; import os; os._exit(0)" if quick_exit else "")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(out.stdout.split()[-1]), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for module in MODULES:
        normal = [once(module, False) for _ in range(args.repeats)]
        quick = [once(module, True) for _ in range(args.repeats)]
        imported = statistics.median(t for t, _ in normal + quick)
        wall = statistics.median(w for _, w in normal)
        wall_quick = statistics.median(w for _, w in quick)
        print(
            f"{module:14s} import {imported:5.2f} s   process {wall:5.2f} s   "
            f"with os._exit {wall_quick:5.2f} s   teardown {wall - wall_quick:5.2f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
