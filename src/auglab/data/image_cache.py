"""Decoded images kept as ``.npz`` beside the files they came from, for file-reading datamodules.

Decoding thousands of PNGs or JPEGs takes far longer than a small model's epoch, so the
decoded arrays are stored once and reused while the files are unchanged. The cache key
hashes the decoding knobs (a header line) and each file's name, size and modification
time: adding, removing, replacing or touching a file, or changing a knob, rebuilds it.
The cache lives next to the data; where that folder is read-only it is skipped with a
warning, and the images are decoded on every run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: Every cache file's name starts with this (hidden, so no reader takes it for an image).
PREFIX = ".auglab_cache_"


def files_key(header: str, files: Iterable[Path], root: Path | None = None) -> str:
    """A hash of ``header`` (the knobs, a layout version) and each file's name, size and
    mtime; ``root`` names files by their path below it (class folder included)."""
    digest = hashlib.sha256(f"{header}\n".encode())
    for f in files:
        st = f.stat()
        name = f.name if root is None else f.relative_to(root).as_posix()
        digest.update(f"{name}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def read_cache(cache: Path, key: str) -> dict[str, np.ndarray] | None:
    """The arrays stored under ``key`` in ``cache``; None when absent, stale or unreadable."""
    if not cache.is_file():
        return None
    try:
        with np.load(cache, allow_pickle=False) as stored:
            if str(stored["key"]) == key:
                return {name: stored[name] for name in stored.files if name != "key"}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError):
        log.warning("Ignoring unreadable cache %s: decoding the images again", cache)
    return None


def write_cache(cache: Path, key: str, **arrays: np.ndarray) -> None:
    """Write atomically (temp file + rename), so a concurrent reader never sees half a file;
    an unwritable folder is a warning, not an error."""
    try:
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=cache.name, suffix=".tmp")
    except OSError as err:
        log.warning(
            "Cannot write the decoded-image cache in %s (%s): decoding the images on every "
            "run; make the folder writable to cache them",
            cache.parent,
            err.strerror or err,
        )
        return
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, key=np.array(key), **arrays)
        os.replace(tmp, cache)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        log.warning("Cannot write %s (%s): decoding the images on every run", cache, err)
