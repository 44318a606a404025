"""The Kaggle "fingers" PNGs (E5): labels from file names, decoded once, cached as ``.npz``.

Decoding 21,600 PNGs takes far longer than a small model's epoch, so (as E5's
pickle) the decoded arrays are kept in ``<path>/.auglab_cache_<split>[_<size>].npz``
(``auglab.data.image_cache``), keyed on the split's file names, sizes and modification
times: adding, removing or touching a file rebuilds it.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from auglab.checks import check_int
from auglab.data.base import ImageDataModule
from auglab.data.image_cache import files_key, read_cache, write_cache
from auglab.errors import ConfigError

log = logging.getLogger(__name__)

#: ``<id>_<count><hand>.png``, e.g. ``0139bd5e-673d-4800-93e1-18c41abb3e8c_3R.png``.
NAME = re.compile(r"^(?P<id>.+)_(?P<count>[0-5])(?P<hand>[LR])\.png$")
HANDS = ("L", "R")
TARGETS = {"count": tuple(str(c) for c in range(6)), "hand": HANDS}
#: Downscaling filter for ``image_size``: BOX averages each output pixel's footprint
#: (128 -> 32 is the exact mean of 4x4 blocks), with no ringing on the dark background.
RESAMPLE = Image.Resampling.BOX
CACHE_VERSION = "1"  # bump when the cached layout changes


class FingersDataModule(ImageDataModule):
    """``<path>/train`` and ``<path>/test`` PNGs; ``target`` is ``count`` (0-5) or ``hand`` (L/R).

    The validation split is the base's seeded stratified ``val_fraction`` of train.
    """

    class_names = TARGETS["count"]

    def __init__(
        self,
        data_dir: str | Path,
        path: str | Path | None = None,
        target: str = "count",
        image_size: int | None = None,
        cache: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(data_dir, **kwargs)
        self.path = Path(path) if path is not None else self.data_dir / "fingers"
        if target not in TARGETS:
            raise ConfigError(f"data.target={target!r} is unknown: use count or hand")
        self.target = target
        self.class_names = TARGETS[target]
        self.image_size = check_int(
            image_size,
            "data.image_size",
            1,
            allow_none=True,
            hint="the side in pixels such as 32, or null for the files' own size",
        )
        self.cache = cache

    def prepare_data(self) -> None:
        for split in ("train", "test"):
            self._folder(split)

    def read_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        files = self._files(split)
        counts, hands = _labels(files)
        labels = counts if self.target == "count" else hands
        return self._images(split, files), labels

    def cache_file(self, split: str) -> Path:
        suffix = "" if self.image_size is None else f"_{self.image_size}"
        return self.path / f".auglab_cache_{split}{suffix}.npz"

    # ---- files and their decoded pixels ---------------------------------------------------
    def _folder(self, split: str) -> Path:
        folder = self.path / split
        if not folder.is_dir():
            raise ConfigError(
                f"fingers folder {folder} not found: data.path must hold train/ and test/ with "
                "Kaggle's fingers PNGs; set data.path (default <AUGLAB_DATA_DIR>/fingers)"
            )
        return folder

    def _files(self, split: str) -> list[Path]:
        folder = self._folder(split)
        files = sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.is_file())
        if not files:
            raise ConfigError(f"{folder} holds no images: copy the fingers {split} PNGs there")
        return files

    def _images(self, split: str, files: list[Path]) -> np.ndarray:
        key = files_key(f"v{CACHE_VERSION} size={self.image_size}", files)
        cache = self.cache_file(split)
        stored = read_cache(cache, key) if self.cache else None
        if stored is not None:
            return stored["images"]
        images = _decode(files, self.image_size)
        if self.cache:
            write_cache(cache, key, images=images)
        return images


def _labels(files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """(finger counts, hands as 0=L 1=R) parsed from the names; a foreign name is refused."""
    counts, hands = [], []
    for f in files:
        match = NAME.match(f.name)
        if match is None:
            raise ConfigError(
                f"{f} is not named <id>_<count><L|R>.png (e.g. 0139bd5e_3R.png, count 0-5): "
                "rename or remove it"
            )
        counts.append(int(match["count"]))
        hands.append(HANDS.index(match["hand"]))
    return np.array(counts, dtype=np.int64), np.array(hands, dtype=np.int64)


def _decode(files: list[Path], image_size: int | None) -> np.ndarray:
    """``uint8`` (N, H, W, 1) from 8-bit greyscale PNGs, optionally resized to a square."""
    images = []
    for f in files:
        try:
            with Image.open(f) as im:
                if im.format != "PNG" or im.mode != "L":
                    raise ConfigError(
                        f"{f} is a {im.format} image in mode {im.mode}, not an 8-bit greyscale PNG "
                        "(mode L): convert it (e.g. Image.open(p).convert('L').save(p)) or remove it"
                    )
                if image_size is not None:
                    im = im.resize((image_size, image_size), RESAMPLE)
                array = np.asarray(im, dtype=np.uint8)
        except (UnidentifiedImageError, OSError) as err:
            raise ConfigError(
                f"{f} cannot be read as a PNG ({err}): replace or remove it"
            ) from None
        if images and array.shape != images[0].shape:
            h, w = images[0].shape
            raise ConfigError(
                f"{f} is {array.shape[0]}x{array.shape[1]} but {files[0].name} is {h}x{w}: "
                "make all images one size, or set data.image_size (e.g. 32)"
            )
        images.append(array)
    return np.stack(images)[..., None]
