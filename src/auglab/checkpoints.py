"""Checkpoints a killed job can resume from: written atomically, checked before use.

Lightning writes a checkpoint in place, so a ``kill -9`` during the write leaves a
truncated ``last.ckpt``. ``AtomicCheckpointIO`` writes a temporary file and renames
it; ``resume_point`` still checks every candidate (zip CRCs, then the pickled
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
    skipped: tuple[str, ...]  # damaged checkpoints passed over, one line each


def resume_point(ckpt_dir: Path) -> ResumePoint | tuple[str, ...]:
    """The newest readable checkpoint in ``ckpt_dir`` (``last.ckpt`` first, then the others
    newest first); else the lines describing the damaged ones (empty: there were none)."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return ()
    candidates = sorted(
        ckpt_dir.glob("*.ckpt"), key=lambda p: (p.name != "last.ckpt", -p.stat().st_mtime)
    )
    skipped = []
    for path in candidates:
        epoch = _completed_epochs(path)
        if epoch is None:
            skipped.append(f"{path.name} is damaged (truncated or unreadable)")
            continue
        return ResumePoint(path, epoch, tuple(skipped))
    return tuple(skipped)


def set_aside_damaged(ckpt_dir: Path) -> None:
    """Rename damaged checkpoints to ``*.ckpt.damaged``: kept for a look, out of Lightning's
    way (it would otherwise version the next save as ``-v1``)."""
    for path in Path(ckpt_dir).glob("*.ckpt"):
        if _completed_epochs(path) is None:
            path.replace(path.with_name(path.name + ".damaged"))


def _completed_epochs(path: Path) -> int | None:
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.testzip() is not None:
                return None
        header = torch.load(path, map_location="cpu", mmap=True, weights_only=False)
        return int(header["epoch"]) + 1
    except Exception:  # any way a file can be broken: truncated zip, bad pickle, no "epoch"
        return None
