"""auglab's MNIST-C corruptions against the authors' own images, through one fixed CNN.

    python bench/mnist_c_reference.py --mnist DATA/MNIST/raw --reference REF_DIR \\
        [--weights cnn.pt] [--json out.json]

REF_DIR holds ``<corruption>.npy``: float (10000, 28, 28) in 0-255, the output of
google-research/mnist-c's ``corruptions.py`` on MNIST's test images in file order at each
function's default severity (docs/mnist_c_fidelity.md says how they were made). A small
CNN (two 5x5 conv layers, seed 0, 2 epochs of Adam on clean MNIST: a few minutes on 2
cores; ``--weights`` caches it) is scored on both sets, and each set's pixel mean,
spread (each image's std) and ink share (pixels above 0.55) are printed beside. The
fidelity targets: each corruption's accuracy within 1 point of the authors' images, the
mean within 0.5.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from auglab.shift import CORRUPTIONS, corrupt

#: Ink: a pixel above 140 of 255, above the mid-grey (127.5) brightness lifts black to.
INK = 0.55


def read_idx_gz(path: Path) -> np.ndarray:
    """A gzipped MNIST IDX file (images or labels) as uint8."""
    with gzip.open(path) as f:
        data = np.frombuffer(f.read(), np.uint8)
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i].tobytes(), "big") for i in range(ndim)]
    return data[4 + 4 * ndim :].reshape(shape)


def fixed_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(512, 64), nn.ReLU(), nn.Linear(64, 10),
    )  # fmt: skip


def train(images: np.ndarray, labels: np.ndarray, epochs: int = 2) -> nn.Module:
    net = fixed_cnn()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.from_numpy(np.array(images)).float().div_(255).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for batch in torch.randperm(len(x), generator=gen).split(128):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
            opt.step()
    return net.eval()


@torch.inference_mode()
def accuracy(net: nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    """``images`` (N, 28, 28) in [0, 1]."""
    x = torch.from_numpy(np.asarray(images, np.float32)).unsqueeze(1)
    pred = torch.cat([net(b).argmax(1) for b in x.split(1000)]).numpy()
    return float((pred == labels).mean())


def stats(images: np.ndarray) -> tuple[float, float, float]:
    """(mean, mean of each image's std, ink share) of ``images`` (N, H, W) in [0, 1]."""
    spread = images.std(axis=(1, 2)).mean()
    return float(images.mean()), float(spread), float((images > INK).mean())


def compare(net: nn.Module, test: np.ndarray, labels: np.ndarray, reference: Path) -> dict:
    rows = {}
    for name in CORRUPTIONS:
        theirs = np.load(reference / f"{name}.npy").astype(np.float32) / 255
        ours = corrupt(test[..., None], name, seed=0)[..., 0].astype(np.float32) / 255
        rows[name] = {
            "acc_theirs": accuracy(net, theirs, labels),
            "acc_ours": accuracy(net, ours, labels),
            "stats_theirs": stats(theirs),
            "stats_ours": stats(ours),
        }
        print(name, rows[name], flush=True)
    return rows


def report(clean: float, rows: dict) -> str:
    lines = [
        f"clean accuracy {clean:.4f}",
        "| corruption | acc theirs | acc ours | diff (pt) | mean t/o | std t/o | ink t/o |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        (mt, st, it), (mo, so, io) = r["stats_theirs"], r["stats_ours"]
        diff = 100 * (r["acc_ours"] - r["acc_theirs"])
        lines.append(
            f"| {name} | {r['acc_theirs']:.3f} | {r['acc_ours']:.3f} | {diff:+.1f} | "
            f"{mt:.3f}/{mo:.3f} | {st:.3f}/{so:.3f} | {it:.3f}/{io:.3f} |"
        )
    mean_t = np.mean([r["acc_theirs"] for r in rows.values()])
    mean_o = np.mean([r["acc_ours"] for r in rows.values()])
    worst = max(abs(r["acc_ours"] - r["acc_theirs"]) for r in rows.values())
    lines.append(f"| mean | {mean_t:.4f} | {mean_o:.4f} | {100 * (mean_o - mean_t):+.2f} | | | |")
    verdict = worst <= 0.01 and abs(mean_o - mean_t) <= 0.005
    lines.append(
        f"worst corruption {100 * worst:.2f} pt; targets (1 pt, mean 0.5 pt) met: {verdict}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=Path, required=True, help="MNIST/raw with the .gz files")
    parser.add_argument("--reference", type=Path, required=True)
    parser.add_argument("--weights", type=Path, help="load the CNN from here, or train and save")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args()
    torch.set_num_threads(2)
    test = read_idx_gz(args.mnist / "t10k-images-idx3-ubyte.gz")
    labels = read_idx_gz(args.mnist / "t10k-labels-idx1-ubyte.gz")
    if args.weights and args.weights.is_file():
        net = fixed_cnn()
        net.load_state_dict(torch.load(args.weights))
        net.eval()
    else:
        net = train(
            read_idx_gz(args.mnist / "train-images-idx3-ubyte.gz"),
            read_idx_gz(args.mnist / "train-labels-idx1-ubyte.gz"),
        )
        if args.weights:
            torch.save(net.state_dict(), args.weights)
    clean = accuracy(net, test / 255.0, labels)
    rows = compare(net, test, labels, args.reference)
    print(report(clean, rows))
    if args.json:
        args.json.write_text(json.dumps({"clean": clean, "corruptions": rows}, indent=1))


if __name__ == "__main__":
    main()
