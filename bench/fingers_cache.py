"""Load time of the fingers datamodule: decoding the PNGs vs reading its ``.npz`` cache.

Each round removes the cache, loads train + test (decoding every PNG and
writing the cache), then loads them again through a fresh datamodule (reading
the cache). "Cold" means auglab's cache is gone, not the OS page cache: the
PNG bytes are likely in memory either way, so the ratio is decode vs cache.

    python bench/fingers_cache.py --path ../shared/data/fingers_sample [--image-size 32]

Last line: ``second/first load ratio: X.Xx faster`` (target >= 5). Caches the
benchmark created are removed at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from auglab.data import FingersDataModule

SPLITS = ("train", "test")


def load(path: Path, image_size: int | None) -> tuple[float, int]:
    """Seconds to read both splits through a new datamodule, and the image count."""
    dm = FingersDataModule(data_dir=path.parent, path=path, image_size=image_size)
    started = time.perf_counter()
    n = sum(len(dm.read_split(split)[1]) for split in SPLITS)
    return time.perf_counter() - started, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, required=True, help="folder with train/ and test/")
    parser.add_argument("--image-size", type=int, default=None, help="data.image_size")
    parser.add_argument("--rounds", type=int, default=3, help="median over this many rounds")
    parser.add_argument("--keep", action="store_true", help="leave the cache files in --path")
    args = parser.parse_args()

    probe = FingersDataModule(data_dir=args.path.parent, path=args.path, image_size=args.image_size)
    caches = [probe.cache_file(split) for split in SPLITS]
    existed = [c for c in caches if c.exists()]
    cold, warm = [], []
    for _ in range(args.rounds):
        for c in caches:
            c.unlink(missing_ok=True)
        seconds, n = load(args.path, args.image_size)
        cold.append(seconds)
        warm.append(load(args.path, args.image_size)[0])
    if not all(c.exists() for c in caches):
        print("note: no cache was written (read-only folder?): both loads decode")
    elif not args.keep:
        for c in caches:
            if c not in existed:
                c.unlink()

    first, second = statistics.median(cold), statistics.median(warm)
    size = "native size" if args.image_size is None else f"{args.image_size}x{args.image_size}"
    print(f"{n} images in {args.path} ({size}), median of {args.rounds} rounds")
    print(f"first load (decode PNGs + write cache): {first:.3f} s")
    print(f"second load (read cache):               {second:.3f} s")
    print(f"second/first load ratio: {first / second:.1f}x faster")


if __name__ == "__main__":
    main()
