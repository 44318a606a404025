"""Validation pass time against the evaluation batch size, memory format and threads.

    python bench/evaluation.py [--images 5000] [--repeats 5]

One E1 validation pass is 5,000 32x32 images through LeNet-5 in inference mode,
converted from uint8 as the datamodule does. A sweep runs it every epoch of every
job (30 x 6 in E1), so its batch size matters: small enough that the activations
stay in cache, large enough that per-batch overhead does not show. The minimum
over repeats is printed for each setting; ``data.eval_batch_size`` defaults to the
best of them on this machine (256).
"""

from __future__ import annotations

import argparse
import time

import torch

from auglab.models.nets import LeNet5
from auglab.speedups import keep_freed_memory


def pass_seconds(
    net: torch.nn.Module, images: torch.Tensor, batch: int, channels_last: bool
) -> float:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    started = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(images), batch):
            x = images[i : i + batch].to(torch.float32).div_(255.0).contiguous(memory_format=fmt)
            net(x).argmax(1)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 128, 256, 512, 1000, 2500])
    parser.add_argument(
        "--default-malloc", action="store_true", help="skip the jobs' malloc tuning"
    )
    args = parser.parse_args()
    if not args.default_malloc:
        keep_freed_memory()  # as every job does (auglab.speedups)
    images = torch.randint(0, 256, (args.images, 1, 32, 32), dtype=torch.uint8)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for channels_last in (True, False):
            fmt = torch.channels_last if channels_last else torch.contiguous_format
            net = LeNet5().eval().to(memory_format=fmt)
            for batch in args.batches:
                pass_seconds(net, images, batch, channels_last)  # oneDNN builds its kernels
                best = min(
                    pass_seconds(net, images, batch, channels_last) for _ in range(args.repeats)
                )
                layout = "channels_last" if channels_last else "NCHW"
                print(
                    f"threads {threads} {layout:13s} batch {batch:5d}: {best * 1000:6.1f} ms "
                    f"({args.images / best:8.0f} images/s)",
                    flush=True,
                )


if __name__ == "__main__":
    main()
