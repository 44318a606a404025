"""Process-wide settings: malloc tuning and the GPU probe that imports nothing heavy."""

from __future__ import annotations

import subprocess
import sys

from auglab.runtime import gpu_visible, keep_freed_memory


def test_glibc_accepts_the_malloc_thresholds():
    # A value glibc refuses (e.g. an mmap threshold above 32 MB) would leave the
    # per-batch page faults in place without a word.
    assert keep_freed_memory() is (sys.platform.startswith("linux"))


def test_the_gpu_probe_does_not_import_torch():
    code = "import sys; from auglab.runtime import gpu_visible; gpu_visible(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert gpu_visible() in (True, False)
