"""Epoch time of auglab's Lightning path vs a minimal hand-written PyTorch loop.

Both train LeNet-5 (E1) with Adam on the same 10,000 MNIST-shaped images,
batch 64, on the CPU. auglab's side is composed from the real config
(`conf/train.yaml`: datamodule, ImageClassifier, callbacks, Trainer), with
validation switched off so only the training epoch is timed.

    python bench/overhead.py [--images 10000] [--epochs 5]

Last line: ``lightning/plain epoch-time ratio: X.XX`` (target <= 1.10).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch import nn

from auglab.callbacks import TrainTimer
from auglab.data.base import ImageDataModule
from auglab.models.nets import LeNet5
from auglab.resolvers import repo_root
from auglab.speedups import skip_cuda_probe_without_gpu


class TensorDataModule(ImageDataModule):
    """The shared base datamodule over arrays already in memory."""

    class_names = tuple(str(d) for d in range(10))

    def __init__(self, images: np.ndarray, labels: np.ndarray, **kwargs) -> None:
        super().__init__(data_dir=".", **kwargs)
        self._arrays = images, labels

    def read_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        return self._arrays

    def validation_split(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.arange(len(labels)), np.arange(0)


def lightning_epochs(images, labels, epochs: int, out: Path) -> list[float]:
    with initialize_config_dir(str(repo_root() / "conf"), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "logger=none",
                "trainer=cpu",
                f"trainer.max_epochs={epochs + 1}",
                "+trainer.limit_val_batches=0",
                "+trainer.num_sanity_val_steps=0",
                f"trainer.default_root_dir={out}",
                f"paths.output_dir={out}",
            ],
        )
    L.seed_everything(0, verbose=False)
    dm = TensorDataModule(images, labels, batch_size=64, pad_to=32)
    dm.setup("fit")
    net = LeNet5(num_classes=10, input_shape=dm.input_shape)
    model = instantiate(cfg.model, net=net)
    timer = TrainTimer()  # the clock every auglab run carries
    callbacks = [instantiate(c) for c in cfg.callbacks.values()]
    trainer = instantiate(cfg.trainer, callbacks=[*callbacks, timer], logger=False)
    trainer.fit(model, datamodule=dm)
    return timer.epoch_seconds[1:]  # the first epoch warms up


class BareModule(L.LightningModule):
    """Lightning's floor: forward, loss and Adam, no metrics, no logging, no callbacks."""

    def __init__(self) -> None:
        super().__init__()
        self.net = LeNet5().to(memory_format=torch.channels_last)
        self.loss_fn = nn.CrossEntropyLoss()

    def training_step(self, batch, batch_idx):
        x, y = batch
        return self.loss_fn(self.net(x.contiguous(memory_format=torch.channels_last)), y)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3, eps=1e-7)


def bare_lightning_epochs(images, labels, epochs: int, out: Path) -> list[float]:
    L.seed_everything(0, verbose=False)
    dm = TensorDataModule(images, labels, batch_size=64, pad_to=32)
    timer = TrainTimer()
    trainer = L.Trainer(
        max_epochs=epochs + 1,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[timer],
        default_root_dir=out,
    )
    trainer.fit(BareModule(), datamodule=dm)
    return timer.epoch_seconds[1:]


def plain_epochs(images, labels, epochs: int, channels_last: bool = True) -> list[float]:
    torch.manual_seed(0)
    # As a notebook would build it: (N, 1, 32, 32) floats in [0, 1].
    x = torch.from_numpy(np.pad(images[..., 0], ((0, 0), (2, 2), (2, 2)))).unsqueeze(1)
    x = x.float().div(255)
    y = torch.from_numpy(labels)
    # The same network, in the same channels-last layout auglab's ImageClassifier uses,
    # so the ratio measures the framework, not the memory format.
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = LeNet5(num_classes=10, input_shape=(1, 32, 32)).to(memory_format=fmt)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs + 1):
        t = time.perf_counter()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            idx = perm[i : i + 64]
            opt.zero_grad(set_to_none=True)
            xb = x[idx].contiguous(memory_format=fmt)
            loss = loss_fn(net(xb), y[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t)
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per repetition")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    # auglab does this in every run; doing it here too keeps the comparison about
    # the framework (both sides save the same ~0.3 ms a step on a CPU-only machine).
    skip_cuda_probe_without_gpu()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(args.images, 28, 28, 1), dtype=np.uint8)
    labels = rng.integers(0, 10, size=args.images).astype(np.int64)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.images} images, batch 64"
    )

    lit, plain = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            # Alternate the order so neither side always runs on a warmer machine.
            order = ["plain", "lightning"] if r % 2 == 0 else ["lightning", "plain"]
            for name in order:
                if name == "plain":
                    times = plain_epochs(images, labels, args.epochs)
                else:
                    times = lightning_epochs(images, labels, args.epochs, Path(tmp) / str(r))
                (plain if name == "plain" else lit).extend(times)
                print(f"repeat {r} {name:9s} epoch s: " + " ".join(f"{t:.3f}" for t in times))
        bare = bare_lightning_epochs(images, labels, args.epochs, Path(tmp) / "bare")
    naive = plain_epochs(images, labels, args.epochs, channels_last=False)
    lit_s, plain_s = statistics.median(lit), statistics.median(plain)
    for name, times in [
        ("notebook-style loop (default memory format)", naive),
        ("bare Lightning (no metrics, logging, callbacks)", bare),
        ("plain loop", plain),
        ("auglab (ImageClassifier + default callbacks)", lit),
    ]:
        t = statistics.median(times)
        print(
            f"{name:48s} median epoch {t:.3f} s ({args.images / t:,.0f} img/s, x{t / plain_s:.2f})"
        )
    print(f"lightning/plain epoch-time ratio: {lit_s / plain_s:.2f}")


if __name__ == "__main__":
    main()
