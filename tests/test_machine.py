"""This machine as a job sees it: its cores (SLURM's allotment counts), the GPU probe that
imports nothing heavy; and the process-wide malloc tuning (``auglab.speedups``)."""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
import types
from collections.abc import Iterator

import pytest

from auglab import machine, slurm
from auglab.machine import gpu_visible
from auglab.speedups import keep_freed_memory


def test_glibc_accepts_the_malloc_thresholds():
    # A value glibc refuses (e.g. an mmap threshold above 32 MB) would leave the
    # per-batch page faults in place without a word.
    assert keep_freed_memory() is (sys.platform.startswith("linux"))


def test_the_gpu_probe_does_not_import_torch():
    code = (
        "import sys; from auglab.machine import gpu_visible; "
        "print(gpu_visible(), 'torch' in sys.modules)"
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "False"]  # hidden GPUs: no GPU, and torch not loaded


class FakeDev:
    """Stands in for ``pathlib.Path`` in auglab.machine: a /dev holding ``nodes``."""

    globbed: list[tuple[str, str]] = []

    def __init__(self, nodes: list[str]) -> None:
        self.nodes = nodes

    def __call__(self, folder: str) -> FakeDev:
        self.folder = folder
        return self

    def glob(self, pattern: str) -> Iterator[str]:
        self.globbed.append((self.folder, pattern))
        return iter(n for n in self.nodes if fnmatch.fnmatch(n, pattern))


@pytest.fixture
def without_torch(monkeypatch):
    """The probe as a job's process sees it before importing torch."""
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    FakeDev.globbed = []


def fake_dev(monkeypatch, *nodes: str) -> None:
    monkeypatch.setattr(machine, "Path", FakeDev(list(nodes)))


@pytest.mark.parametrize("hidden", ["", "-1"])
def test_hidden_gpus_are_not_visible_even_with_a_device_node(without_torch, monkeypatch, hidden):
    fake_dev(monkeypatch, "nvidia0", "nvidiactl")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", hidden)
    assert gpu_visible() is False
    assert FakeDev.globbed == []  # decided by the variable alone
    assert "torch" not in sys.modules


def test_no_nvidia_device_node_means_no_gpu(without_torch, monkeypatch):
    fake_dev(monkeypatch, "null", "nvidiactl", "nvidia-uvm")  # the driver, but no GPU node
    assert gpu_visible() is False
    assert FakeDev.globbed == [("/dev", "nvidia[0-9]*")]
    assert "torch" not in sys.modules


@pytest.mark.parametrize("visible", [None, "0"])
def test_an_nvidia_device_node_means_a_gpu(without_torch, monkeypatch, visible):
    fake_dev(monkeypatch, "null", "nvidiactl", "nvidia0")
    if visible is not None:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert gpu_visible() is True
    assert "torch" not in sys.modules


@pytest.mark.parametrize("available", [True, False])
def test_once_torch_is_loaded_it_answers(without_torch, monkeypatch, available):
    fake_dev(monkeypatch, "nvidia0")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    torch = types.SimpleNamespace(cuda=types.SimpleNamespace(is_available=lambda: available))
    monkeypatch.setitem(sys.modules, "torch", torch)
    assert gpu_visible() is available
    assert FakeDev.globbed == []


SLURM_JOB = {"SLURM_JOB_ID": "7", "SLURM_NTASKS": "1", "SLURM_JOB_NAME": "train"}


def test_a_slurm_job_uses_the_cores_slurm_gave_it_not_the_nodes(monkeypatch):
    """Without cgroups the affinity mask is the whole node: only SLURM's number counts."""
    for key in ("SLURM_JOB_ID", "SLURM_CPUS_PER_TASK", "SLURM_CPUS_ON_NODE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert machine.available_cores() == 4
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "1")
    assert machine.available_cores() == 4  # not inside a SLURM job
    monkeypatch.setenv("SLURM_JOB_ID", "7")
    assert machine.available_cores() == 1
    assert machine.joblib_width(-1) == 1
    monkeypatch.delenv("SLURM_CPUS_PER_TASK")
    monkeypatch.setenv("SLURM_CPUS_ON_NODE", "2")
    assert machine.available_cores() == 2
    monkeypatch.setenv("SLURM_CPUS_ON_NODE", "16")
    assert machine.available_cores() == 4  # never more than the affinity mask


def test_lightning_never_requeues_a_slurm_job_itself(monkeypatch):
    for key, value in SLURM_JOB.items():
        monkeypatch.setenv(key, value)
    (env,) = slurm.cluster_plugins()
    assert type(env).__name__ == "SLURMEnvironment" and env.auto_requeue is False
    monkeypatch.delenv("SLURM_NTASKS")
    monkeypatch.delenv("SLURM_JOB_ID")
    assert slurm.cluster_plugins() == []


def test_loader_workers_beyond_the_jobs_cores_are_named_with_the_fix(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    for key, value in {**SLURM_JOB, "SLURM_CPUS_PER_TASK": "2"}.items():
        monkeypatch.setenv(key, value)
    assert machine.check_loader_workers(0, 2) is None
    assert machine.check_loader_workers(1, 1) is None
    line = machine.check_loader_workers(2, 2)
    assert line.startswith("data.num_workers=2 loader processes beside 2 torch thread(s)")
    assert "the 2 core(s) this job has (SLURM's --cpus-per-task)" in line
