"""Process-wide settings that keep small-model training fast."""

from __future__ import annotations

import os

import torch


def skip_cuda_probe_without_gpu() -> None:
    """On a machine with no usable GPU, tell torch so once, for this process.

    A CUDA build of torch on a CPU-only machine re-probes NVML (a failing
    ``dlopen``) inside every ``optimizer.step()``: ~0.3 ms a step, 8% of LeNet-5's
    step on 2 cores (bench/overhead.py). An empty ``CUDA_VISIBLE_DEVICES``
    answers that probe at once; with no GPU present it changes nothing else.
    """
    if "CUDA_VISIBLE_DEVICES" not in os.environ and not torch.cuda.is_available():
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
