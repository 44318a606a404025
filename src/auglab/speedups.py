"""Process-wide settings that keep small-model training fast, changing no result.

torch is imported inside the function that needs it: ``auglab.evaluate`` and the train
task call these once a job is about to train or test.
"""

from __future__ import annotations

import ctypes
import os
import sys


def skip_cuda_probe_without_gpu() -> None:
    """On a machine with no usable GPU, tell torch so once, for this process.

    A CUDA build of torch on a CPU-only machine re-probes NVML (a failing
    ``dlopen``) inside every ``optimizer.step()``: ~0.3 ms a step, 8% of LeNet-5's
    step on 2 cores (bench/overhead.py). An empty ``CUDA_VISIBLE_DEVICES``
    answers that probe at once; with no GPU present it changes nothing else.
    """
    import torch

    if "CUDA_VISIBLE_DEVICES" not in os.environ and not torch.cuda.is_available():
        os.environ["CUDA_VISIBLE_DEVICES"] = ""


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed blocks for reuse instead of giving them back to the OS.

    By default glibc serves blocks above a (dynamic) threshold with fresh ``mmap``
    pages and trims the heap's top at every large free, so each evaluation batch's
    activations (4.8 MB a layer for LeNet-5 at batch 256) are page-faulted in anew:
    a 100-image E1 job, which is mostly validation, fits in 7.0 s instead of 9.6 s on
    one thread. Raising both thresholds keeps the process at its peak footprint
    (small for these datasets) and changes no result. True when glibc took both.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl): nothing to tune
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    mmap_ok = libc.mallopt(m_mmap_threshold, 32 * 2**20)  # glibc's largest allowed value
    return bool(mmap_ok and libc.mallopt(m_trim_threshold, 2**30))
