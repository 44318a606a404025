"""The plain PyTorch loop a researcher would write instead of auglab: E1's LeNet-5 run.

    python bench/plain_loop.py --size 10000 --epochs 5 [--data-dir DIR]

One whole process, nothing but torch and numpy: read MNIST from its IDX files,
take E1's 10,000-image slice, pad to 32x32, train LeNet-5 (tanh, average pooling)
with Adam (lr 1e-3, eps 1e-7) at batch 64, channels-last, validating on the
5,000-image tail every epoch, then test on t10k. Prints test accuracy and seconds.
bench/vs_keras.py times it against auglab's default run and the notebook's Keras.
"""

from __future__ import annotations

import argparse
import gzip
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

SLICES = {100: (0, 100), 1000: (550, 1550), 10000: (6550, 16550)}


def read_idx(raw: Path, name: str) -> np.ndarray:
    path = raw / name
    if path.exists():
        data = path.read_bytes()
    else:
        with gzip.open(f"{path}.gz") as f:
            data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def as_batch(images: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(np.pad(images, ((0, 0), (2, 2), (2, 2)))).unsqueeze(1).float() / 255
    return x.contiguous(memory_format=torch.channels_last)


def lenet5() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(16, 120, 5), nn.Tanh(), nn.Flatten(),
        nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10),
    )  # fmt: skip


@torch.inference_mode()
def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 256) -> float:
    net.eval()
    correct = sum(
        (net(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum().item()
        for i in range(0, len(y), batch)
    )
    net.train()
    return correct / len(y)


def main() -> None:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, choices=sorted(SLICES))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--data-dir", default=os.environ.get("AUGLAB_DATA_DIR", "data"))
    args = parser.parse_args()
    raw = Path(args.data_dir) / "MNIST" / "raw"
    images, labels = (
        read_idx(raw, "train-images-idx3-ubyte"),
        read_idx(raw, "train-labels-idx1-ubyte"),
    )
    lo, hi = SLICES[args.size]
    x, y = as_batch(images[lo:hi]), torch.from_numpy(labels[lo:hi].astype(np.int64))
    x_val, y_val = as_batch(images[55_000:]), torch.from_numpy(labels[55_000:].astype(np.int64))
    torch.manual_seed(0)
    net = lenet5().to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7, foreach=True)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(args.epochs):
        for idx in torch.randperm(len(y)).split(64):
            optimizer.zero_grad()
            loss_fn(net(x[idx]), y[idx]).backward()
            optimizer.step()
        val = accuracy(net, x_val, y_val)
    test_x, test_y = (
        read_idx(raw, "t10k-images-idx3-ubyte"),
        read_idx(raw, "t10k-labels-idx1-ubyte"),
    )
    test = accuracy(net, as_batch(test_x), torch.from_numpy(test_y.astype(np.int64)))
    print(f"val acc {val:.4f} test acc {test:.4f} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
