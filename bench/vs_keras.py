"""auglab against the notebooks' Keras stack and a plain PyTorch loop, whole processes.

    AUGLAB_DATA_DIR=/path/with/MNIST python bench/vs_keras.py --rounds 3 [--before DIR]

Two pieces of work, each timed as one command from start to exit, alternated
within each round so a busy machine skews every contender alike:

- ``sweep``: E1's six runs (30 epochs): ``python train.py -m data.size=100,1000,10000
  aug=on,off`` (auglab's default launcher and config) against ``keras_e1.py`` doing
  the same six runs in one process (``../shared/bench``, needs ``~/tf-venv``).
- ``single``: one 10,000-image, 5-epoch run: auglab's default config (W&B offline,
  pictures on) against Keras (``E1_EPOCHS=5 ... --only plain_10000``) and
  ``bench/plain_loop.py``.

``--before DIR`` also times another checkout of auglab (e.g. a ``git worktree`` of
an older commit) in the same rounds, and checks that the sweep's metrics match.
Prints every time, the ratios per round, and their median and range.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KERAS = REPO.parent / "shared" / "bench" / "keras_e1.py"
E1 = ["-m", "data.size=100,1000,10000", "aug=on,off"]
SINGLE = ["data.size=10000", "trainer.max_epochs=5"]
KERAS_SIX = [
    "plain_100",
    "plain_1000",
    "plain_10000",
    "online_aug_100",
    "online_aug_1000",
    "online_aug_10000",
]
METRICS = ("test_acc", "val_acc_best", "test_loss")


def timed(cmd: list[str], env: dict[str, str], cwd: Path = REPO) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - started


def contenders(
    work: str, args: argparse.Namespace, tmp: Path, r: int
) -> dict[str, tuple[list[str], dict, Path]]:
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true")
    data = Path(env.get("AUGLAB_DATA_DIR", REPO / "data"))
    keras_env = dict(env, E1_DATA_DIR=str(data / "MNIST" / "raw"), TF_CPP_MIN_LOG_LEVEL="3")
    out = tmp / f"{work}{r}"
    out.mkdir(parents=True, exist_ok=True)
    keras = [args.keras_python, str(KERAS), "--seed", "0", "--out"]
    if work == "sweep":
        runs = {
            "keras": ([*keras, str(out / "keras.json"), "--only", *KERAS_SIX], keras_env, REPO),
            "auglab": (
                [sys.executable, "train.py", *E1, f"hydra.sweep.dir={out}/auglab"],
                env,
                REPO,
            ),
        }
    else:
        runs = {
            "keras": (
                [*keras, str(out / "keras.json"), "--only", "plain_10000"],
                dict(keras_env, E1_EPOCHS="5"),
                REPO,
            ),
            "plain": ([sys.executable, "bench/plain_loop.py", "--data-dir", str(data)], env, REPO),
            "auglab": (
                [sys.executable, "train.py", *SINGLE, f"hydra.run.dir={out}/auglab"],
                env,
                REPO,
            ),
        }
    if args.before:
        cmd, _, _ = runs["auglab"]
        before_env = dict(env, PYTHONPATH=str(Path(args.before) / "src"))
        runs["before"] = (
            [*cmd[:-1], cmd[-1].replace("/auglab", "/before")],
            before_env,
            Path(args.before),
        )
    return runs


def metrics(sweep: Path) -> list[tuple]:
    jobs = sorted(sweep.glob("*/metrics.json"), key=lambda p: int(p.parent.name))
    return [tuple(json.loads(p.read_text()).get(k) for k in METRICS) for p in jobs]


def compare(now: list[tuple], before: list[tuple]) -> None:
    """Per metric: identical in every job, or the largest relative difference."""
    for i, name in enumerate(METRICS):
        pairs = [(a[i], b[i]) for a, b in zip(now, before, strict=True)]
        if all(a == b for a, b in pairs):
            print(f"  {name}: identical to --before in all {len(pairs)} jobs", flush=True)
        else:
            worst = max(abs(a - b) / abs(b) for a, b in pairs if b)
            print(
                f"  {name}: differs from --before, largest relative difference {worst:.1e}",
                flush=True,
            )


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} (range {min(values):.3f}-{max(values):.3f}, n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--work", nargs="+", choices=["sweep", "single"], default=["single", "sweep"]
    )
    parser.add_argument("--before", help="another auglab checkout to time alongside")
    parser.add_argument("--keras-python", default=str(Path.home() / "tf-venv" / "bin" / "python"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for work in args.work:
            times: dict[str, list[float]] = {}
            for r in range(args.rounds):
                runs = contenders(work, args, Path(tmp), r)
                names = list(runs)
                names = names[r % len(names) :] + names[: r % len(names)]  # rotate the order
                for name in names:
                    cmd, env, cwd = runs[name]
                    times.setdefault(name, []).append(timed(cmd, env, cwd))
                line = "  ".join(f"{n} {times[n][-1]:.1f} s" for n in runs)
                print(f"{work} round {r + 1}: {line}", flush=True)
                if work == "sweep" and args.before:
                    compare(
                        metrics(Path(tmp) / f"sweep{r}" / "auglab"),
                        metrics(Path(tmp) / f"sweep{r}" / "before"),
                    )
            for other in ("keras", "plain", "before"):
                if other in times:
                    ratios = [a / b for a, b in zip(times["auglab"], times[other], strict=True)]
                    print(f"{work}: auglab/{other} wall-time ratio {spread(ratios)}")
            if work == "sweep":
                for r in range(args.rounds):
                    for job, m in enumerate(metrics(Path(tmp) / f"sweep{r}" / "auglab")):
                        print(
                            f"  round {r + 1} job {job}: "
                            + " ".join(f"{k} {v}" for k, v in zip(METRICS, m, strict=True))
                        )


if __name__ == "__main__":
    main()
