"""What augmentation costs: images/s of each path, and LeNet-5 epoch time with and without it.

The same training loop (LeNet-5, Adam, batch 64, the base datamodule's training
DataLoader) runs on the same 10,000 images three ways: no augmentation, the
preset through the batched torch warp (the default), and the preset through
albumentations per image (the fallback). Generated 32x32x1 MNIST-like images by
default; ``--data-dir`` reads real MNIST (E1's 10,000-image slice) instead.

    python bench/augment.py [--preset on] [--data-dir ../shared/data] [--rounds 6]

Last line: ``aug-on/aug-off epoch-time ratio: X.XX`` for the default (batched) path, the
median over rounds of paired epoch-time ratios (target <= 1.15).

``--presets all`` (or a list, ``--presets on,mixup,[on,erasing]``) first prints one line
per preset: the images/s ``ArrayDataset`` serves augmented batches at, and how it runs
them; ``--rounds 0`` then skips the epoch comparison:

    python bench/augment.py --presets all --rounds 0
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from torch import nn

from auglab.aug import build_augmentation
from auglab.data.base import ImageDataModule
from auglab.data.dataset import ArrayDataset
from auglab.data.mnist import MNISTDataModule
from auglab.models.nets import LeNet5
from auglab.resolvers import repo_root
from auglab.speedups import skip_cuda_probe_without_gpu


class GeneratedDigits(ImageDataModule):
    """The shared base datamodule over MNIST-shaped arrays made up in memory."""

    class_names = tuple(str(d) for d in range(10))

    def __init__(self, n: int, **kwargs) -> None:
        super().__init__(data_dir=".", pad_to=32, **kwargs)
        rng = np.random.default_rng(0)
        images = rng.integers(0, 40, size=(n, 28, 28, 1), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n)
        for i, label in enumerate(labels):  # a stroke whose place is the class, so warps move it
            images[i, 4 + 2 * label : 6 + 2 * label, 6:22] = 255
        self._arrays = images, labels

    def read_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        return self._arrays

    def validation_split(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.arange(len(labels)), np.arange(0)


def preset(name: str):
    with initialize_config_dir(str(repo_root() / "conf"), version_base="1.3"):
        return compose("train", overrides=[f"aug={name}"]).aug


#: What ``--presets all`` times besides every conf/aug/*.yaml: combinations of presets.
COMBINATIONS = ("[on,erasing]", "[on,mixup]", "[on,randaugment]")


def preset_names(spec: str) -> list[str]:
    if spec != "all":
        return [name.strip() for name in spec.split(",") if name.strip()]
    stems = sorted(p.stem for p in (repo_root() / "conf" / "aug").glob("*.yaml"))
    return [*stems, *COMBINATIONS]


def images_per_second(ds: ArrayDataset, batch: int = 64) -> float:
    order = torch.randperm(len(ds)).tolist()
    start = time.perf_counter()
    for i in range(0, len(ds), batch):
        ds.__getitems__(order[i : i + batch])
    return len(ds) / (time.perf_counter() - start)


class Loop:
    """A plain LeNet-5 training loop over a datamodule's own training loader."""

    def __init__(self, dm: ImageDataModule, train_set: ArrayDataset) -> None:
        torch.manual_seed(0)
        self.dm, self.train_set = dm, train_set
        self.net = LeNet5(num_classes=10, input_shape=(1, 32, 32)).to(
            memory_format=torch.channels_last
        )
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3, eps=1e-7)
        self.loss_fn = nn.CrossEntropyLoss()

    def epoch(self) -> float:
        self.dm.train_set = self.train_set
        start = time.perf_counter()
        for x, y, *mixed in self.dm.train_dataloader():
            self.opt.zero_grad(set_to_none=True)
            target = mixed[0] @ nn.functional.one_hot(y, 10).float() if mixed else y
            loss = self.loss_fn(self.net(x.contiguous(memory_format=torch.channels_last)), target)
            loss.backward()
            self.opt.step()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="on", help="conf/aug/<preset>.yaml")
    parser.add_argument(
        "--presets", default=None, help="'all' or comma-separated presets: images/s of each"
    )
    parser.add_argument("--data-dir", default=None, help="folder holding MNIST/raw/")
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=6, help="timed epochs of each variant")
    parser.add_argument("--passes", type=int, default=5, help="timed passes of each --presets")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (cores)")
    args = parser.parse_args()

    skip_cuda_probe_without_gpu()
    torch.set_num_threads(args.threads)
    kwargs = dict(size=args.images, batch_size=64, num_workers=args.workers, pin_memory=False)
    if args.data_dir:
        dm = MNISTDataModule(args.data_dir, download=False, **kwargs)
        source = f"MNIST from {args.data_dir}"
    else:
        dm = GeneratedDigits(args.images, **kwargs)
        source = "generated 32x32x1 digits"
    dm.setup("fit")
    images, labels = dm.train_set.images, dm.train_set.labels.numpy()
    if args.presets:
        names = preset_names(args.presets)
        print(
            f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(images)} "
            f"{source}, batch 64: ArrayDataset.__getitems__, median of {args.passes} passes"
        )
        sets = {n: ArrayDataset(images, labels, build_augmentation(preset(n))) for n in names}
        rates: dict[str, list[float]] = {name: [] for name in names}
        for r in range(args.passes):  # one pass of each per round, rotating: noise hits all alike
            for name in names[r % len(names) :] + names[: r % len(names)]:
                rates[name].append(images_per_second(sets[name]))
        for name in names:
            how = sets[name].stages.description or "no augmentation"
            print(f"aug={name:<18s} {statistics.median(rates[name]):9,.0f} img/s  {how}")
        if args.rounds == 0:
            return
    pipeline = build_augmentation(preset(args.preset))
    variants = {
        "off": ArrayDataset(images, labels),
        "batched": ArrayDataset(images, labels, transform=pipeline),
        "per-image": ArrayDataset(images, labels, transform=pipeline, batched=False),
    }
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.workers} workers, "
        f"{len(images)} {source}, batch 64, aug={args.preset}"
    )

    for name, ds in variants.items():
        rates = [images_per_second(ds) for _ in range(3)]
        print(f"{name:9s} __getitems__: {statistics.median(rates):9,.0f} img/s")

    # One epoch of each variant per round, in a rotating order, so a busy spell on a
    # shared machine hits all three alike; ratios are paired within a round.
    loops = {name: Loop(dm, ds) for name, ds in variants.items()}
    for loop in loops.values():
        loop.epoch()  # warm-up
    epochs: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(args.rounds):
        names = list(variants)[r % 3 :] + list(variants)[: r % 3]
        for name in names:
            epochs[name].append(loops[name].epoch())
        print(f"round {r}: " + "  ".join(f"{n} {epochs[n][-1]:.3f} s" for n in variants))
    for name, times in epochs.items():
        t = statistics.median(times)
        print(f"{name:9s} median epoch {t:.3f} s ({len(images) / t:,.0f} img/s)")

    def ratio(name: str) -> float:
        return statistics.median(a / b for a, b in zip(epochs[name], epochs["off"], strict=True))

    print(f"albumentations per image: aug-on/aug-off epoch-time ratio: {ratio('per-image'):.2f}")
    print(f"aug-on/aug-off epoch-time ratio: {ratio('batched'):.2f}")


if __name__ == "__main__":
    main()
