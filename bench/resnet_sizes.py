"""Size and CPU cost of the small ResNet (model=resnet) across image sizes.

Prints, for 1- and 3-channel images and 10 classes, the parameter count and the last
feature map at each size, and the median time of one forward + backward pass of a
batch (channels-last, as ImageClassifier runs it) on the CPU. The stem halves images
over 32 px, so the cost should stay near the 32 px one.

    python bench/resnet_sizes.py [--sizes 32 64 128] [--batch 64] [--repeats 5] [--width 16]

On a shared machine the times are noisy: compare sizes within one run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from auglab.models.nets import ResNet


def step_seconds(net: ResNet, x: torch.Tensor, y: torch.Tensor, repeats: int) -> float:
    """Median seconds of forward + backward (one warm-up pass first)."""
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        net.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(net(x), y).backward()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--width", type=int, default=16)
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}")
    print("channels  size  parameters  last map  fwd+bwd s")
    for channels in (1, 3):
        for size in args.sizes:
            net = ResNet(num_classes=10, input_shape=(channels, size, size), width=args.width)
            net = net.to(memory_format=torch.channels_last).train()
            x = torch.rand(args.batch, channels, size, size).contiguous(
                memory_format=torch.channels_last
            )
            y = torch.randint(0, 10, (args.batch,))
            with torch.no_grad():
                last = tuple(net.post(net.stages(net.stem(x[:1]))).shape[2:])
            seconds = step_seconds(net, x, y, args.repeats)
            params = sum(p.numel() for p in net.parameters())
            print(
                f"{channels:8d}  {size:4d}  {params:10,d}  {last[0]:>3d}x{last[1]:<4d}  {seconds:9.3f}"
            )


if __name__ == "__main__":
    main()
