"""E1 sweep wall time with the basic launcher and with joblib, side by side.

    AUGLAB_DATA_DIR=/path/with/MNIST python bench/launchers.py --rounds 2

Runs ``python train.py -m data.size=100,1000,10000 aug=on,off`` (30 epochs, default
config: W&B offline, pictures) as whole processes, alternating launchers each
round so a busy machine skews both alike; prints each wall time, the joblib/basic
ratio per round, and whether each launcher's metrics repeat across rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
E1 = ["-m", "data.size=100,1000,10000", "aug=on,off"]
LAUNCHERS = {"basic": [], "joblib": ["hydra/launcher=joblib"]}
METRICS = ("test_acc", "test_loss", "val_acc_best")


def run(launcher: str, sweep: Path, extra: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(REPO / "train.py"), *E1, *LAUNCHERS[launcher], *extra, f"hydra.sweep.dir={sweep}"],
        cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - started


def metrics(sweep: Path) -> list[tuple]:
    jobs = sorted(sweep.glob("*/metrics.json"), key=lambda p: int(p.parent.name))
    return [tuple(json.loads(p.read_text())[k] for k in METRICS) for p in jobs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("extra", nargs="*", help="more overrides, e.g. trainer.max_epochs=5")
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in LAUNCHERS}
    results: dict[str, list] = {name: [] for name in LAUNCHERS}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = list(LAUNCHERS) if r % 2 == 0 else list(reversed(LAUNCHERS))
            for name in order:
                sweep = Path(tmp) / f"{name}{r}"
                seconds = run(name, sweep, args.extra)
                times[name].append(seconds)
                results[name].append(metrics(sweep))
                print(f"round {r + 1} {name:7s} {seconds:6.1f} s", flush=True)
    ratios = [j / b for j, b in zip(times["joblib"], times["basic"], strict=True)]
    spread = f" (range {min(ratios):.3f}-{max(ratios):.3f})" if len(ratios) > 1 else ""
    print(f"basic  median {statistics.median(times['basic']):.1f} s")
    print(f"joblib median {statistics.median(times['joblib']):.1f} s")
    print(
        f"joblib / basic: median {statistics.median(ratios):.3f}{spread} over {len(ratios)} rounds"
    )
    for name, runs in results.items():
        same = all(r == runs[0] for r in runs)
        print(f"{name}: metrics identical across rounds: {same}")
    print(f"joblib metrics equal basic's: {results['joblib'][0] == results['basic'][0]}")


if __name__ == "__main__":
    main()
