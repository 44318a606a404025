"""Checkpoints a killed job can resume from: written atomically, checked before use.

Lightning writes a checkpoint in place, so a ``kill -9`` during the write leaves a
truncated ``last.ckpt``. ``AtomicCheckpointIO`` writes a temporary file and renames
it; ``read_checkpoints`` still checks every candidate (zip CRCs, then the pickled
header) and falls back to an older checkpoint, or to a fresh start, saying which.
"""

from __future__ import annotations

import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.pytorch.plugins.io import TorchCheckpointIO

log = logging.getLogger(__name__)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's torch checkpoint IO, but a checkpoint file is either whole or absent."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:
        if storage_options is not None or get_filesystem(path).protocol not in (
            "file",
            ("file", "local"),
        ):
            return super().save_checkpoint(checkpoint, path, storage_options)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "wb") as f:
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


@dataclass(frozen=True)
class ResumePoint:
    path: Path
    epoch: int  # epochs completed (1-based count)


@dataclass(frozen=True)
class Checkpoints:
    """What a job dir's checkpoints offer a rerun, each file read once."""

    start: ResumePoint | None  # the newest readable one: ``last.ckpt`` first, then newest first
    damaged: tuple[Path, ...]  # truncated or unreadable, in the same order

    def set_aside_damaged(self) -> None:
        """Rename each damaged file to ``*.ckpt.damaged``: kept for a look, out of Lightning's
        way (it would otherwise version the next save as ``-v1``)."""
        for path in self.damaged:
            path.replace(path.with_name(path.name + ".damaged"))


def read_checkpoints(ckpt_dir: Path) -> Checkpoints:
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return Checkpoints(None, ())
    candidates = sorted(
        ckpt_dir.glob("*.ckpt"), key=lambda p: (p.name != "last.ckpt", -p.stat().st_mtime)
    )
    start, damaged = None, []
    for path in candidates:
        epoch = _completed_epochs(path)
        if epoch is None:
            damaged.append(path)
        elif start is None:
            start = ResumePoint(path, epoch)
    return Checkpoints(start, tuple(damaged))


def _completed_epochs(path: Path) -> int | None:
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.testzip() is not None:
                return None
        header = torch.load(path, map_location="cpu", mmap=True, weights_only=False)
        return int(header["epoch"]) + 1
    except Exception:  # any way a file can be broken: truncated zip, bad pickle, no "epoch"
        return None
